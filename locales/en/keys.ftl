## Security keys and passkeys (WebAuthn)

webauthn-cancelled = The request was cancelled or timed out. Try again when you're ready.
webauthn-failed = Something went wrong with your security key or passkey. Try again.
webauthn-unsupported = This browser can't use security keys or passkeys. Choose another way to confirm it's you, or use another browser.
webauthn-needs-script = Security keys and passkeys need JavaScript turned on in your browser. You can still use another way to confirm it's you.
webauthn-unavailable = Security keys and passkeys aren't available on this site.
webauthn-sign-in-expired = Your sign-in expired. Start again.
webauthn-expired = That took too long, or the answer was already used. Try again.
webauthn-refused = That security key or passkey couldn't be checked. Make sure it's one you added to this account, and try again.
webauthn-possible-clone = We refused this security key or passkey: its answer suggests it may have been copied. We've emailed you about it. Use another way to confirm it's you.
webauthn-too-many = Too many passkey sign-ins were started from your network. Try again in { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
}, or sign in with your email and password.
webauthn-unknown-key = This passkey isn't on an account any more. Sign in with your email and password.

mfa-other-key = Use a security key or passkey
mfa-key-instructions = When your browser asks, insert or tap your security key, or use your face, fingerprint or screen lock.
mfa-key-button = Use my security key or passkey
mfa-no-key = There's no security key or passkey on this account.
mfa-key-required = The service you're signing in to asks for a security key or passkey. A code can't be used instead.
mfa-key-required-explained = The service you're signing in to asks for a security key or passkey, and your account doesn't have one yet. Sign in to your account the usual way, add a security key or passkey under "Security keys and passkeys", then go back to the service.
mfa-key-required-add = Go to your account
mfa-setup-passkey = Passkey (face, fingerprint or screen lock)
mfa-setup-passkey-hint = The safest way: it can't be phished, and you can sign in with it without your password.
mfa-setup-security-key = Security key
mfa-setup-security-key-hint = A USB or NFC key you insert or tap. It can't be phished.

login-passkey-or = Or
login-passkey-button = Sign in with a passkey
login-passkey-hint = Use your face, fingerprint or screen lock, or a security key that holds a passkey for this site.

key-add-title-passkey = Add a passkey
key-add-title-security-key = Add a security key
key-add-intro-passkey = A passkey lives on your phone, computer or password manager and is unlocked with your face, fingerprint or screen lock. It works only on this site, so it can't be phished, and it signs you in without your password.
key-add-intro-security-key = A security key is a small USB or NFC device. You'll insert or tap it when you sign in. It works only on this site, so it can't be phished.
key-add-name-label = Name
key-add-name-hint-passkey = So you can tell your passkeys apart, for example "Work laptop".
key-add-name-hint-security-key = So you can tell your keys apart, for example "Blue key".
key-add-button-passkey = Create a passkey
key-add-button-security-key = Add my security key
key-add-refused = Your security key or passkey couldn't be added. Try again; if it keeps failing, try another key or browser.
key-add-already-registered = That security key or passkey is already on an account.
key-add-model-not-allowed = This site accepts only certain models of security key, and this one isn't one of them.
key-default-name-passkey = Passkey
key-default-name-security-key = Security key

console-keys-heading = Security keys and passkeys
console-keys-intro = They can't be phished. A passkey also signs you in without your password.
console-keys-none = You haven't added any.
console-key-kind-passkey = Passkey
console-key-kind-security-key = Security key
console-key-added-on = Added { $date }
console-key-last-used-on = Last used { $date }
console-key-never-used = Not used yet
console-key-rename = Rename
console-add-passkey = Add a passkey
console-add-security-key = Add a security key
console-key-too-many = You can have at most { $count } security keys and passkeys. Remove one to add another.
console-key-last-method = You can't remove your only way to confirm it's you. Add another way first.
console-key-unknown = That security key or passkey isn't on your account.
