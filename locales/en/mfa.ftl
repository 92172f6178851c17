## Second factors: the challenge after the password, enrolment of a first method, the
## recommendation of a second one, backup codes, and "I don't have my phone".

# Step indicator (USWDS): its fixed words, and the steps of enrolment at the first sign-in.
mfa-step-choose = Choose a method
mfa-step-set-up = Set it up
mfa-step-backup = Add a backup method

# Words several of these pages share.
mfa-continue = Continue
mfa-confirm = Confirm
mfa-cancel = Cancel
mfa-back = Back
mfa-contact-support = Contact support
mfa-code-label = Security code
mfa-didnt-get-it = Didn't get it?
mfa-text-new-code = Text me a new code
mfa-call-instead = Call me instead
mfa-wrong-number = Wrong number?
mfa-change-number = Change it
mfa-code-resent = We've sent a new code.

# Why a code wasn't accepted or couldn't be sent.
mfa-code-wrong = That code didn't work. Check it and try again.
mfa-code-wrong-tries-left = That code didn't work. You have { $count ->
        [one] 1 try
       *[other] { $count } tries
    } left before this step is locked for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
mfa-code-expired = That code has expired. Send a new one.
mfa-code-none-waiting = There's no code waiting for this step. Send a new one.
mfa-code-locked = Too many wrong codes. For your security, this step is locked for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }. We've emailed you about it.
mfa-send-too-many = We've sent several codes in a short time. Please wait { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    } before asking for another, or use a code you already received.
mfa-send-failed = We couldn't send the code just now. Try a voice call instead, or choose another method.
mfa-send-locked = Too many wrong codes. For your security, this step is locked for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
mfa-code-too-long = That code is far too long.
mfa-choose-method = Choose a way to confirm it's you.
mfa-choose-phone = Choose one of your phone numbers.
mfa-phone-cooling-down = That phone number was added or changed recently, so it can't be used to reset your password yet. Choose another way to confirm it's you.

# The challenge after the password (and in a step-up).
mfa-challenge-title = Confirm it's you
mfa-cooldown-notice = The phone { $number } was added or changed recently. For your security it can't be used on its own to reset your password until { $date }.
mfa-no-method = There's no other way on your account to confirm it's you. You can wait until the phone can be used, or sign in with your password and choose "I don't have my phone", or contact support.
mfa-code-sent = We sent a code to { $number }. It expires in { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.
mfa-remember = Remember this browser for { $count ->
        [one] 1 day
       *[other] { $count } days
    }
mfa-text-code-to = Text a code to { $number }
mfa-no-phone-link = I don't have my phone
mfa-totp-instructions = Enter the 6-digit code from your authenticator app.
mfa-totp-code-label = Code from your app
mfa-backup-instructions = Enter one of your backup codes. Each code works once.
mfa-backup-code-label = Backup code
mfa-other-methods = Choose another method
mfa-other-phone = Text or call { $number }
mfa-other-totp = Use your authenticator app
mfa-other-backup = Use a backup code ({ $count } left)

# Enrolment: choosing the first method.
mfa-setup-title = Add a second way to sign in
mfa-setup-intro = Your password alone isn't enough to protect your account. Choose how you'll confirm it's you each time you sign in. You can add more later.
mfa-setup-phone = Text message or phone call
mfa-setup-phone-hint = We send a 6-digit code to your phone.
mfa-setup-totp = Authenticator app
mfa-setup-totp-hint = An app on your phone shows a new code every 30 seconds. Works without signal.
mfa-setup-backup = Backup codes
mfa-setup-backup-hint = Ten codes to print or save. Each works once.

# Enrolment: a phone number (the form's words are in phone.ftl).
mfa-phone-title = Add a phone number
mfa-phone-code-sent-sms = We sent a security code to { $number } by text message. Enter it to confirm the number is yours.
mfa-phone-code-sent-voice = We sent a security code to { $number } by phone call. Enter it to confirm the number is yours.

# Enrolment or the console: an authenticator app.
mfa-totp-title = Add an authenticator app
mfa-totp-step-open = Open your authenticator app and add a new account.
mfa-totp-step-scan = Scan this QR code, or type the key below.
mfa-totp-qr-alt = QR code for your authenticator app
mfa-totp-key = Key:
mfa-totp-step-enter = Enter the 6-digit code the app shows.
mfa-totp-too-many = { $count ->
        [one] You already have 1 authenticator app, the most an account can have.
       *[other] You already have { $count } authenticator apps, the most an account can have.
    }

# Backup codes.
mfa-backup-codes-title = Your backup codes
mfa-backup-codes-new-title = Your new backup codes
mfa-backup-codes-save-now = Save these codes now: this is the only time we show them. Each code works once. Any older backup codes no longer work.
mfa-backup-codes-download = Download as a text file
mfa-backup-codes-print = To print them, use your browser's Print command.
mfa-backup-codes-saved = I've saved my codes
mfa-backup-codes-file-heading = { $site } backup codes for { $email }
mfa-backup-codes-file-note = Each code works once. Keep them somewhere safe.

# Right after the first method: a second one is recommended.
mfa-another-title = Add a backup method
mfa-another-intro-phone = Your phone is set up. If you lose it or your number changes, a second method still lets you into your account.
mfa-another-intro-totp = Your authenticator app is set up. If you lose your phone or the app, a second method still lets you into your account.
mfa-another-cooldown = A phone number that was just added or changed can't reset your password on its own for { $count ->
        [one] 1 hour
       *[other] { $count } hours
    }. With a second method you're never stuck.
mfa-another-totp = Add an authenticator app
mfa-another-totp-hint = An app on your phone shows a new code every 30 seconds. Works without signal.
mfa-another-backup = Make backup codes
mfa-another-backup-hint = Ten codes to print or save. Each works once.
mfa-another-skip = Skip for now
mfa-another-later = You can add one later from your account.

# "I don't have my phone".
mfa-lost-phone-title = Don't have your phone?
mfa-lost-phone-other-ways = You can confirm it's you another way. After you sign in, we'll take you straight to replacing your phone number.
mfa-lost-phone-none-of-these = None of these?
mfa-lost-phone-pending = An account reset is already waiting. On { $date } we'll email you a link that removes your old sign-in methods so you can set up new ones.
mfa-lost-phone-reset-explain = You can reset your account's sign-in methods. For your security this takes { $count ->
        [one] 1 hour
       *[other] { $count } hours
    }: we first email you a link to confirm, then tell every email address and phone on your account, and when the wait is over we email you a link that removes your phone numbers, authenticator apps and backup codes. You then sign in with your password and set up new ones.
mfa-lost-phone-reset-cancelled-if = If anyone signs in to your account as usual during the wait, the reset is cancelled.
mfa-lost-phone-reset-button = Reset my sign-in methods
mfa-lost-phone-no-reset = To reset your password you need a second factor that isn't a recently changed phone. If you have none, sign in with your password and choose "I don't have my phone", or contact support.
mfa-lost-phone-reset-sent = We've emailed a link to { $email }. Open it to confirm the account reset.
mfa-lost-phone-reset-pending = An account reset is already waiting. We'll email you a link on { $date }.
mfa-lost-phone-reset-too-many = Too many requests in the last hour. Please try again later.
mfa-lost-phone-password-first = Sign in with your password first, then ask for an account reset.
mfa-help = Help with signing in without your phone
