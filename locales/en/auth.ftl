# Signing up, signing in, lock pages, password rules, password reset, account reset,
# the start page, terms, step-up, "This wasn't me" and the dev outbox. Owned by the auth pages.

## Shared by the pages of this file

auth-step = Step
auth-step-of = of { $count }
auth-step-completed = completed
auth-step-not-completed = not completed
auth-steps-label = Progress
auth-errors-heading = { $count ->
    [one] There is 1 problem to fix
   *[other] There are { $count } problems to fix
    }
auth-cancel = Cancel
auth-back = Back
auth-back-to-sign-in = Back to sign in
auth-email-label = Email address
auth-password-label = Password

## Start page and terms

home-title = Your account
home-heading = Your account
home-signed-in-as = You're signed in as { $email }.
home-session-note = Apps that use { $site } will sign you in without asking for your password again while this session lasts.
home-manage = Manage your account
home-backup-codes-low = { $count ->
    [one] You have 1 backup code left.
   *[other] You have { $count } backup codes left.
    } Make a new set before you run out; the old codes will stop working.
home-make-backup-codes = Make new backup codes
home-welcome-title = Welcome
home-welcome-heading = Welcome to { $site }
home-welcome-body = One secure account for the government and financial services you use.
home-sign-in = Sign in
home-create-account = Create an account

terms-title = Terms of service
terms-intro = { $site } verifies who you are for the services you choose to use. By creating an account you agree to:
terms-true-information = give true information about yourself;
terms-keep-secrets = keep your password and second factors to yourself;
terms-report-misuse = tell us promptly if you think someone else has used your account.
terms-sharing = We share information with a service only after you allow it, and only what that service asked for. We keep a record of security-relevant events on your account, which you can see.
terms-operator-note = The operator of this { $site } instance replaces this page with its own terms.

## Sign-up: email, check your email, choose a password, second factor

signup-step-email = Email address
signup-step-check-email = Check your email
signup-step-password = Choose a password
signup-step-second-factor = Set up a second factor

signup-title = Create an account
signup-intro = We'll send a link to your email address. Open it to confirm the address and choose your password.
signup-terms-label = I accept the terms of service
signup-terms-read = Read the terms of service
signup-submit = Create account
signup-have-account = Already have an account?
signup-sign-in = Sign in
signup-email-invalid = Enter an email address like name@example.com.
signup-terms-required = You need to accept the terms of service to create an account.
signup-too-many = Too many sign-ups from your network in the last hour. Please try again later.

check-email-title = Check your email
check-email-sent = We've sent a message to { $email }. Open the link in it to confirm your address and choose your password.
check-email-once = The link works once. If you don't see the message in a few minutes, check your spam folder.
check-email-wrong-address = Wrong address?
check-email-use-another = Use a different email address

choose-password-title = Choose your password
choose-password-intro = Your email address is { $email }. Choose the password you'll sign in with to finish creating your account.
choose-password-hint = At least { $min } characters, at most { $max }. A few unrelated words make a strong password that's easy to remember. No special characters required.
choose-password-again-label = Type the password again
choose-password-submit = Create account

confirm-email-title = Email confirmed
confirm-email-body = Thank you. Your email address is confirmed and your password is set.
confirm-email-next = Next, sign in and set up a second way to confirm it's you, such as your phone or an authenticator app.
confirm-email-continue = Continue to sign in
confirm-email-invalid-title = This link isn't valid
confirm-email-invalid-body = The confirmation link has already been used, has expired, or was copied incompletely.
confirm-email-invalid-again = If your email isn't confirmed yet, sign up again and we'll send you a new link.
confirm-email-sign-up-again = Sign up again

## An address added from the console: its link's page

confirm-added-email-heading = Confirm this email address?
confirm-added-email-body = Add { $email } to your account as a confirmed address. You'll be able to sign in with it if you make it your primary address.
confirm-added-email-confirm = Confirm { $email }
confirm-added-email-not-now = Not now
confirm-added-email-not-yours = If you didn't add this address, don't confirm it.
confirm-added-email-review = Review your account
confirm-added-email-sign-in-heading = Sign in to confirm this address
confirm-added-email-sign-in-body = Only the account that added { $email } can confirm it. Sign in as that account in this browser, then open the link from the email again.
confirm-added-email-ignore = If you didn't add this address to an account, ignore the email: nothing changes unless it is confirmed.
confirm-added-email-sign-in = Sign in
confirm-added-email-confirmed-heading = Email confirmed
confirm-added-email-confirmed-body = The address { $email } is now confirmed on your account.
confirm-added-email-back = Back to your account
confirm-added-email-invalid-heading = This link isn't valid
confirm-added-email-invalid-body = The confirmation link has already been used, has expired, or was copied incompletely.
confirm-added-email-invalid-again = To get a new one, add the address again on your account page.
confirm-added-email-account-page = Go to your account page

## Sign-in

login-title = Sign in
interrupted-title = Your sign-in was interrupted
interrupted-body = Your sign-in to { $client } was interrupted or took too long, so it has to start again. Nothing was changed.
interrupted-continue = Start again and continue to { $client }
interrupted-account = Go to your account instead
login-interrupted = Your sign-in was interrupted or took too long, so it has to start again. Nothing was changed. If you were signing in to an app or website, go back to it and start again there.
login-to-continue = to continue to { $client }
login-submit = Sign in
login-forgot = Forgot your password?
login-new-here = New here?
login-create-account = Create an account
login-wrong = That email and password don't match an account. Check them and try again.
login-confirm-first = Please confirm your email address first. We've sent you a new confirmation link; open it, then sign in.
login-disabled = This account has been disabled. Contact support if you think this is a mistake.

## Lock pages. Each says what the e-mail about it says, and how to get out.

lock-what-you-can-do = What you can do
lock-reset-password = Reset your password
lock-contact-support = Contact support
lock-support-phone = Or call support at { $phone }.
lock-help = Read what to do when you're locked out
lock-tries-title = Too many attempts
lock-tries-body = There have been several wrong passwords for this account from your network. For your security, please wait { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    } before trying again.
lock-tries-reset = Forgot your password? Don't guess again: reset it, then sign in with the new one.
lock-tries-wait = Or wait { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    }, then try again. Each further wrong password makes the wait longer.
lock-paused-title = Sign-in paused
lock-paused-body = There have been too many wrong passwords for this account, so sign-in is paused for { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    }. If the account exists, we've emailed its owner.
lock-paused-reset = Forgot your password? Reset it now: a password reset ends the pause.
lock-paused-wait = Or wait { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    }, then sign in with the right password.
lock-paused-not-you = If you didn't cause this, someone may be guessing your password: choose a new, unique one.
lock-locked-title = Account locked
lock-locked-body = There have been too many wrong passwords for this account, so sign-in is locked until its password is reset. If the account exists, we've emailed its owner.
lock-locked-reset = Reset your password to unlock sign-in. You'll need your email and your phone, authenticator app or a backup code.
lock-locked-support = If you can't reset your password, contact support and we'll help you.
lock-mfa-title = Too many wrong codes
lock-mfa-body = There were too many wrong security codes, so signing in with a second factor is paused for { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    }. We've emailed you about it.
lock-mfa-wait = Wait { $count ->
    [one] 1 minute
   *[other] { $count } minutes
    }, then sign in again.
lock-mfa-not-you = If this wasn't you, someone may know your password: change it as soon as you can sign in.
lock-mfa-support = Can't wait? Contact support.

## Password rules (sign-up, reset; any page that sets a password may use them)

password-confirmation-mismatch = The two passwords don't match.
password-far-too-long = That password is far longer than any we accept.

## Password reset: email, check your email, confirm it's you, new password

reset-step-email = Your email address
reset-step-check-email = Check your email
reset-step-confirm = Confirm it's you
reset-step-new-password = New password

forgot-title = Reset your password
forgot-intro = Enter your email address and we'll send you a link to choose a new password.
forgot-submit = Send reset link
forgot-sent = If { $email } belongs to an account, we've sent it a link to choose a new password.
forgot-sent-valid = { $count ->
    [one] The link works once, for 1 minute.
   *[other] The link works once, for { $count } minutes.
    }
forgot-sent-second-factor = If the account has a second factor, you'll also need it (a code to your phone, your authenticator app, or a backup code).
forgot-wrong-address = Wrong address?
forgot-use-another = Use a different email address
forgot-email-invalid = Enter an email address like name@example.com.
forgot-too-many = Too many reset requests in the last hour. Please try again later.
reset-link-invalid = This reset link isn't valid: it was already used, has expired, or was copied incompletely. Ask for a new one from the sign-in page.
reset-link-used = This reset link isn't valid any more. Ask for a new one from the sign-in page.

new-password-title = Choose a new password
new-password-label = New password
new-password-hint = { $count ->
    [one] At least 1 character.
   *[other] At least { $count } characters.
    } A few unrelated words make a strong password.
new-password-again-label = Type it again
new-password-submit = Set new password
new-password-done-title = Password changed
new-password-done-body = Your new password is set. For your security we've signed you out everywhere and told you by email and text message.
new-password-sign-in = Sign in

## Account reset (no second factor left)

account-reset-title = Reset your sign-in methods
account-reset-step-confirm = Confirm the request
account-reset-step-wait = Wait
account-reset-step-remove = Remove old methods
account-reset-step-set-up = Set up new methods
account-reset-confirm-body = Confirm that you want to reset your account's sign-in methods because you no longer have your phone or other second factor.
account-reset-wait = { $count ->
    [one] For your security there is a wait of 1 hour.
   *[other] For your security there is a wait of { $count } hours.
    } We'll tell every email address and phone on your account now, and email you a link when the wait is over. Signing in as usual during the wait cancels the reset.
account-reset-confirm-submit = Confirm the account reset
account-reset-requested = Your account reset is waiting. On { $when } we'll email you a link that removes your old sign-in methods.
account-reset-told = We've told every email address and phone on your account about it.
account-reset-complete-body = The wait is over. This removes every phone number, authenticator app and backup code from your account and signs you out everywhere. You'll then sign in with your password and set up new sign-in methods.
account-reset-complete-submit = Remove my sign-in methods
account-reset-completed = Your old sign-in methods are removed and every device was signed out.
account-reset-sign-in = Sign in and set up new methods
account-reset-invalid = This link isn't valid: it was already used, has expired, or the reset was cancelled because someone signed in.
account-reset-home = Go to the start page

## Step-up, "This wasn't me", dev outbox

step-up-heading = Confirm it's you
step-up-body = This is a sensitive change, so we need your password and a second factor again.
step-up-submit = Continue

not-me-heading = This wasn't me
not-me-done = We've signed your account out on every device. Anyone who signed in is now out.
not-me-done-password = Someone may know your password. We've emailed you a link to choose a new one: open it as soon as you can.
not-me-invalid = This link isn't valid: it was already used or has expired.
not-me-ask = If you didn't just sign in, we'll sign your account out on every device right away and email you a link to choose a new password.
not-me-submit = Sign out everywhere

outbox-title = Dev outbox
outbox-note = Development mode only. Every email, SMS and voice message { $site } "sends" lands here instead, newest first. Production refuses this page.
outbox-empty = No messages yet.
outbox-to = to
step-up-wrong-password = That password isn't right.
