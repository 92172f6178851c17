// Security keys and passkeys (src/mfa/webauthn.rs). No framework, no inline script.
//
// A form marked data-webauthn="create" (add a key), "get" (prove a key) or "passkey" (sign in
// with a passkey) fetches its options from data-options (a POST with the form's fields, CSRF
// included), asks the browser's authenticator, puts the answer in the form's hidden
// "credential" field and submits the form. Without WebAuthn the form's button stays hidden
// and its data-webauthn-unsupported message shows; the page's other ways still work.
(function () {
  "use strict";

  function supported() {
    return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
  }

  function b64urlToBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function bytesToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = b64urlToBytes(c.id);
      return copy;
    });
  }

  // The server's options (base64url strings) as the browser takes them.
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBytes(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64urlToBytes(json.user.id) });
    o.excludeCredentials = withIds(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBytes(json.challenge);
    o.allowCredentials = withIds(json.allowCredentials);
    return o;
  }

  function answerJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: bytesToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bytesToB64url(r.attestationObject);
      if (typeof r.getTransports === "function") {
        response.transports = r.getTransports();
      }
    } else {
      response.authenticatorData = bytesToB64url(r.authenticatorData);
      response.signature = bytesToB64url(r.signature);
      response.userHandle = r.userHandle ? bytesToB64url(r.userHandle) : null;
    }
    return JSON.stringify({
      id: cred.id,
      rawId: bytesToB64url(cred.rawId),
      type: cred.type,
      response: response,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  function showError(form, text) {
    var box = form.querySelector("[data-webauthn-error]");
    if (!box) {
      return;
    }
    var p = box.querySelector("p") || box;
    p.textContent = text;
    box.hidden = false;
    box.focus && box.focus();
  }

  function fetchOptions(form, extra) {
    var body = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== "credential" && el.name !== "ceremony" && el.type !== "submit") {
        body.append(el.name, el.value);
      }
    });
    Object.keys(extra || {}).forEach(function (k) {
      body.append(k, extra[k]);
    });
    return fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: body.toString()
    }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok || !data.options) {
          throw new Error(data.error || form.getAttribute("data-error-failed") || "error");
        }
        return data;
      });
    });
  }

  function ceremony(form, signal, extra) {
    var mode = form.getAttribute("data-webauthn");
    return fetchOptions(form, extra).then(function (data) {
      var publicKey = data.options.publicKey;
      var call;
      if (mode === "create") {
        call = navigator.credentials.create({ publicKey: creationOptions(publicKey) });
      } else {
        var request = { publicKey: requestOptions(publicKey) };
        if (data.options.mediation) {
          request.mediation = data.options.mediation;
        }
        if (signal) {
          request.signal = signal;
        }
        call = navigator.credentials.get(request);
      }
      return call.then(function (cred) {
        form.querySelector("input[name=ceremony]").value = data.ceremony;
        form.querySelector("input[name=credential]").value = answerJson(cred);
        form.submit();
      });
    });
  }

  function explain(form, err) {
    if (err && err.name === "AbortError") {
      return;
    }
    var key = err && err.name === "NotAllowedError" ? "data-error-cancelled" : "data-error-failed";
    // The server's own explanation (a plain Error), else the page's words for the browser's.
    var text = err && err.name === "Error" && err.message ? err.message : form.getAttribute(key);
    showError(form, text || "");
  }

  var autofill = null;

  function setUp(form) {
    if (!supported()) {
      var note = form.querySelector("[data-webauthn-unsupported]");
      if (note) {
        note.hidden = false;
      }
      return;
    }
    Array.prototype.forEach.call(form.querySelectorAll("[data-webauthn-button]"), function (b) {
      b.hidden = false;
    });
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=credential]").value) {
        return;
      }
      event.preventDefault();
      if (autofill) {
        autofill.abort();
        autofill = null;
      }
      ceremony(form, null, null).catch(function (err) {
        explain(form, err);
      });
    });
  }

  // Passkeys in the browser's autofill on the email field, where it supports that.
  function offerInAutofill(form) {
    if (!supported() || !PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) {
        return;
      }
      autofill = new AbortController();
      // Autofill is an offer, not something the person asked for: its failures stay quiet
      // (the button still explains its own).
      ceremony(form, autofill.signal, { autofill: "1" }).catch(function () {});
    });
  }

  // Coming back with the browser's Back button restores a form as it was left: an answer
  // already sent must not go again with the next click.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(
      document.querySelectorAll("form[data-webauthn] input[name=credential], form[data-webauthn] input[name=ceremony]"),
      function (input) {
        input.value = "";
      }
    );
  });

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-webauthn]"), setUp);
    var auto = document.querySelector("form[data-webauthn-autofill]");
    if (auto) {
      offerInAutofill(auto);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
