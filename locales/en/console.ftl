# The account console: overview, activity, password, name. Owned by the console area.

## Activity: one sentence per kind of event (src/accounts/activity.rs lists them).

activity-signed-up = You created your account
activity-signup-existing-email = Someone tried to create a new account with your email address
activity-email-confirmed = You confirmed an email address
activity-signed-in = You signed in
activity-signed-in-new-device = You signed in on a device we hadn't seen before
activity-reauthenticated = You confirmed it's you
activity-signin-failed = Someone tried to sign in with a wrong password
activity-signed-out = You signed out
activity-mfa-code-sent = We sent a code to { $phone }
activity-mfa-code-wrong = A wrong code was entered
activity-mfa-locked = Codes were paused after too many wrong tries
activity-phone-added = You added a phone number
activity-phone-changed = You changed your phone number
activity-phone-removed = You removed a phone number
activity-phone-reviewed = You confirmed your phone number is still yours
activity-totp-added = You added an authenticator app
activity-totp-removed = You removed an authenticator app
activity-key-added = You added a security key or passkey
activity-key-removed = You removed a security key or passkey
activity-key-possible-clone = A security key or passkey gave an answer that suggests it was copied; it was refused
activity-backup-codes-made = You made backup codes
activity-password-changed = You changed your password
activity-password-reset-requested = You asked to reset your password
activity-password-reset = You reset your password
activity-profile-updated = You changed your name
activity-email-added = You added an email address
activity-email-made-primary = You changed the email address you sign in with
activity-email-removed = You removed an email address
activity-consent-granted = { $app } can see { $what }
activity-consent-sign-in-only = You allowed { $app } to sign you in
activity-consent-denied = You didn't allow { $app } to use your account
activity-tokens-issued = You signed in to { $app }
activity-app-revoked = You disconnected { $app }
activity-app-signed-out = { $app } gave up its access to your account
activity-app-access-ended = We ended { $app }'s access to keep your account safe
activity-not-me = You reported activity that wasn't you, and we signed you out everywhere
activity-account-reset-requested = You asked to reset your account
activity-account-reset-link-sent = We sent you a link to finish resetting your account
activity-account-reset-completed = You reset your account and set up new sign-in methods
activity-account-reset-cancelled = Your account reset was cancelled because you signed in
activity-support-ticket-created = You contacted support
activity-support-ticket-replied = Support answered your message
activity-support-ticket-closed = Support closed your request
activity-support-phone-change = Support started changing your phone number
activity-account-disabled = Support turned off your account
activity-account-enabled = Support turned your account back on
activity-account-unlocked = Support unlocked your account
activity-methods-reset-by-support = Support removed your sign-in methods
activity-identity-verification-started = You started verifying your identity
activity-identity-verified = Your identity was verified
activity-identity-held = Your identity verification is being reviewed
activity-identity-removed = Your verified identity data was removed
activity-identity-letter-requested = You asked for a letter to verify your identity by mail
activity-identity-letter-sent = Your identity verification letter was mailed
activity-referee-case-opened = You asked to verify your identity with an agent by video
activity-referee-code-replaced = You asked for a new code for your video call with an agent
activity-referee-decided = An agent decided on your identity verification
activity-referee-case-expired = Your video call with an agent expired
activity-identity-suspended = Your verified identity was locked after a password reset
activity-identity-restored = Your personal key restored your verified identity
activity-personal-key-replaced = You made a new personal key
activity-other = Something changed on your account
activity-unknown-app = An app
activity-sees-name = your name
activity-sees-email = your email address
activity-sees-phone = your phone number
activity-list-last = { $first } and { $last }
activity-device = { $browser } on { $system }
activity-device-system-only = A browser on { $system }
activity-device-unknown = An unknown browser

## Why a new password can't be used (also on sign-up and password reset).

password-refusal-too-short = Your password must be at least { $count } characters long.
password-refusal-too-long = Your password can be at most { $count } characters long.
password-refusal-too-easy = This password is too easy to guess.
password-refusal-try-a-phrase = Try a longer phrase of several unrelated words.
password-refusal-warning-key-rows = Straight rows of keys are easy to guess.
password-refusal-warning-keyboard-patterns = Short keyboard patterns are easy to guess.
password-refusal-warning-repeats = Repeats like "aaa" are easy to guess.
password-refusal-warning-repeated-groups = Repeats like "abcabcabc" are only slightly harder to guess than "abc".
password-refusal-warning-top-10 = This is one of the 10 most common passwords.
password-refusal-warning-top-100 = This is one of the 100 most common passwords.
password-refusal-warning-common = This is a very common password.
password-refusal-warning-similar-to-common = This is similar to a commonly used password.
password-refusal-warning-sequences = Sequences like abc or 6543 are easy to guess.
password-refusal-warning-recent-years = Recent years are easy to guess.
password-refusal-warning-single-word = A word by itself is easy to guess.
password-refusal-warning-dates = Dates are often easy to guess.
password-refusal-warning-names = Names and surnames by themselves are easy to guess.
password-refusal-warning-common-names = Common names and surnames are easy to guess.
password-refusal-suggest-few-words = Use a few words, and avoid common phrases.
password-refusal-suggest-no-symbols-needed = You don't need symbols, digits or capital letters.
password-refusal-suggest-another-word = Add another word or two. Uncommon words are better.
password-refusal-suggest-capitals = Capital letters don't help very much.
password-refusal-suggest-all-capitals = All capitals are almost as easy to guess as all lowercase.
password-refusal-suggest-reversed = Words spelled backwards aren't much harder to guess.
password-refusal-suggest-substitutions = Predictable substitutions, like "@" for "a", don't help very much.
password-refusal-suggest-longer-pattern = Use a longer keyboard pattern with more turns.
password-refusal-suggest-avoid-repeats = Avoid repeated words and characters.
password-refusal-suggest-avoid-sequences = Avoid sequences.
password-refusal-suggest-avoid-recent-years = Avoid recent years.
password-refusal-suggest-avoid-your-years = Avoid years that are linked to you.
password-refusal-suggest-avoid-your-dates = Avoid dates and years that are linked to you.

## Page titles and what the console's handlers say.

console-title = Your account
console-activity-title = Activity
console-not-me-title = This wasn't me
console-password-title = Change your password
console-password-changed-title = Password changed
console-profile-title = Your name
console-totp-add-title = Add an authenticator app
console-email-confirm-title = Confirm email address
console-email-sign-in-title = Sign in to confirm
console-email-confirmed-title = Email confirmed
console-email-link-invalid-title = Link not valid
console-email-too-many-title = Too many email addresses

console-session-not-yours = That session isn't one of yours.
console-password-far-too-long = That password is far longer than any we accept.
console-password-current-wrong = Your current password isn't right.
console-password-mismatch = The two new passwords don't match.
console-profile-name-invalid = Names can be at most 100 characters, without line breaks.
console-totp-too-many = { $count ->
    [one] You already have an authenticator app, the most an account can have.
   *[other] You already have { $count } authenticator apps, the most an account can have.
}
console-totp-locked = Too many wrong codes. For your security, this step is locked for a while.
console-totp-code-wrong = That code didn't work. Check the app and try again.
console-totp-last-method = This app is your only way to confirm it's you, so it can't be removed. Add another method first.
console-totp-unknown = That app isn't on your account.
console-email-not-an-address = Enter an email address like name@example.com.
console-email-not-confirmed = Only a confirmed address can become your primary address.
console-email-not-removable = That address isn't one you can remove (the primary address always stays).
console-email-too-many = Too many email addresses were added today. Try again tomorrow.

## What a connected app can do, one line per permission.

console-app-can-recognise = Can tell it's you when you sign in
console-app-can-see-name = Can see your name
console-app-can-see-email = Can see your email address
console-app-can-see-phone = Can see your phone number
console-app-can-see-verified-name = Can see your legal name, as checked against your ID
console-app-can-see-verified-birthdate = Can see your date of birth, as checked against your ID
console-app-can-see-verified-address = Can see your address, as verified
console-app-can-see-verified-ssn = Can see your full Social Security number
console-app-can-stay-connected = Can keep using this while you're away, until you disconnect it

activity-sessions-ended = Your sessions were ended
activity-apps-disconnected-by-support = Support disconnected every app from your account

## The overview page (templates/account.html).

console-one-method-heading = Add a second way to confirm it's you
console-one-method-body = You have only one way to confirm it's you. If you lose it (a lost phone, a new number), you could be locked out of your account for days. Add another one now:
console-add-totp = Add an authenticator app
console-one-method-add-totp = Set up an authenticator app
console-one-method-add-phone = Add another phone number
console-make-backup-codes = Make backup codes
console-make-new-backup-codes = Make new backup codes
console-add-phone = Add a phone number
console-name = Name: { $name }
console-no-name = No name given yet
console-edit-name = Edit
console-emails-heading = Email addresses
console-email-primary = primary (you sign in with it)
console-email-waiting = waiting for confirmation
console-email-make-primary = Make primary
console-email-add-label = Add an email address
console-add = Add
console-remove = Remove
console-change = Change
console-phones-heading = Phone numbers
console-no-phones = No phone numbers yet.
console-phone-by-sms = codes by text message
console-phone-by-voice = codes by phone call
console-phone-default = default
console-phone-recently-changed = recently changed
console-other-methods-heading = Other ways to confirm it's you
console-totp-added-on = Authenticator app · added { $date }
console-backup-codes-left = { $count ->
    [one] 1 backup code left
   *[other] { $count } backup codes left
}
console-backup-codes-none = No backup codes yet
console-name-password-heading = Name and password
console-apps-heading = Connected apps
console-no-apps = No apps can use your account.
console-app-since = connected { $date }
console-disconnect = Disconnect
console-sessions-heading = Where you're signed in
console-session-last-seen = last seen { $time }
console-session-this-browser = this browser
console-session-sign-out = Sign out
console-sign-out-others = Sign out all other sessions
console-recent-activity-heading = Recent activity
console-times-in-zone = Times are shown in the { $zone } time zone.
console-all-activity = All activity

## Activity (templates/activity.html, activity_table.html).

console-activity-intro = Sign-ins and changes on your account, newest first. If you see something you didn't do, choose "This wasn't me": we'll sign you out everywhere and email you a link to choose a new password.
console-activity-when = When
console-activity-what = What
console-activity-from = From
console-activity-browser = Browser
console-activity-action = Action
console-activity-older = Older activity
console-back-to-account = Back to your account

## Forms: the error summary, change password, your name.

console-problem-summary-heading = { $count ->
    [one] There is a problem with this form
   *[other] There are { $count } problems with this form
}
console-cancel = Cancel
console-password-changed-body = Your new password is set. Every other device was signed out, and we've emailed you about it.
console-password-current-label = Current password
console-password-new-label = New password
console-password-hint = At least { $count } characters. A few unrelated words make a strong password.
console-password-again-label = Type the new password again
console-password-submit = Change password
console-profile-saved = Saved. Apps you've allowed to see your name get it the next time they ask.
console-profile-given-name = Given name
console-profile-family-name = Family name
console-profile-save = Save

console-identity-heading = Verified identity
console-identity-verified-on = Verified on { $when }.
console-identity-remove = Remove my verified data
console-identity-removed = Your verified information was removed.
console-identity-in-progress = You started verifying your identity.
console-identity-continue = Continue where you left off
console-identity-held = Your verification is being reviewed. We'll email you when it's done.
console-identity-vault = Your verified information is locked with your password and your personal key. Only you can open it.
console-identity-no-personal-key = You don't have a personal key yet. Make one now: without it, a password reset means verifying again.
console-identity-new-personal-key = Make a new personal key
console-identity-suspended = You reset your password, so your verified identity is locked until you enter your personal key.
console-identity-restore = Enter my personal key
console-identity-verify-again = I don't have it: verify my identity again
console-identity-none = Some services need to know who you are before you can use them.
console-identity-redo = Your account was reset, so your identity needs to be verified again.
console-identity-verify = Verify your identity
console-identity-letter-requested-on = You asked for a letter to verify your identity on { $when }.
console-identity-letter-sent-on = Your letter to verify your identity was sent on { $when }.
console-identity-letter-enter = Enter the code from your letter
console-identity-letter-another = Send another letter
