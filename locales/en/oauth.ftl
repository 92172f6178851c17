# What a person reads during an app's sign-in request: consent, what each scope releases, a
# request we refuse, and an app's sign-out. Owned by the auth pages.

## Consent

consent-title = Allow access
consent-heading = Allow { $client } to use your { $site } account?
consent-signed-in-as = You're signed in as { $email }.
consent-will-receive = { $client } will receive:
consent-remember = We'll remember your answer, so we won't ask again for the same information. It never includes your password.
consent-allow = Allow
consent-deny = Deny
consent-choose = Choose Allow or Deny.

## Verified data an app asks for (from the person's identity verification)

consent-verified-heading = From your verified identity:
consent-verified-name = Your legal name, as checked against your ID
consent-verified-birthdate = Your date of birth, as checked against your ID
consent-verified-address = Your address, as verified
consent-verified-ssn-heading = Your Social Security number
consent-verified-ssn = { $client } will also receive your full Social Security number. Allow this only if you trust { $client } with it.

## What each scope releases, in plain words (the consent page, and anywhere scopes are shown)

scope-openid = A stable identifier for your account, so the app recognises you
scope-profile = Your name
scope-email = Your email address
scope-phone = Your phone number
scope-offline-access = Access to this information while you're not using the app, until you revoke it

## A sign-in request we won't continue (the app's fault, not the person's)

authorize-error-title = Sign-in request not valid
authorize-error-heading = We can't continue this sign-in
authorize-request-uri-unknown = The app sent a request_uri we don't recognise.
authorize-request-uri-expired = This sign-in request has expired or was already used (request_uri). Go back to the app and start again.
authorize-request-uri-other-app = The request_uri belongs to another app.
authorize-client-id-missing = The app didn't say who it is (client_id is missing).
authorize-client-unknown = The app that sent you here isn't registered with us (unknown client_id).
authorize-repeated = The sign-in request repeats client_id or redirect_uri.
authorize-redirect-uri-missing = The app didn't say where to return you (redirect_uri is missing).
authorize-redirect-uri-mismatch = The app asked to return you to an address it hasn't registered (redirect_uri mismatch). We stopped here to protect you.
authorize-expired = This sign-in request has expired or was already completed. Go back to the app and start again.

## An app asks to sign the person out

end-session-error-title = Sign-out request not valid
end-session-error-heading = We can't follow this sign-out request
end-session-hint-unverified = The app sent a sign-out request we couldn't verify (id_token_hint).
end-session-two-apps = The sign-out request names two different apps.
end-session-no-client = The app didn't say who it is, so we won't send you back to it.
end-session-redirect-mismatch = The app asked to send you to an address it hasn't registered (post_logout_redirect_uri). We stopped here to protect you.
end-session-done-title = Signed out
end-session-done-heading = You're signed out
end-session-done-body = You've signed out of { $site } in this browser. You can close this window.
end-session-ask-title = Sign out?
end-session-ask-heading = Sign out of { $site }?
end-session-asked-by = { $client } asked to sign you out of { $site } in this browser.
end-session-asked-by-unknown = An app asked to sign you out of { $site } in this browser.
end-session-confirm = Sign out
end-session-stay = Stay signed in
