// Tells Verity the browser's time zone, so pages show times in it (src/web/time_zone.rs).
// Sets the verity_tz cookie to the IANA zone name; the server checks it before using it.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone || typeof zone !== "string" || zone.length > 64) {
    return;
  }
  var value = encodeURIComponent(zone);
  if (("; " + document.cookie + ";").indexOf("; verity_tz=" + value + ";") !== -1) {
    return;
  }
  var cookie = "verity_tz=" + value + "; path=/; max-age=34560000; samesite=lax";
  if (window.location.protocol === "https:") {
    cookie += "; secure";
  }
  document.cookie = cookie;
})();
