## Phone numbers: the number form, changing or adding a number from the account, the periodic
## "is this still your number?", and why a number is refused.

# Why a typed number can't be used.
phone-error-invalid = That isn't a valid phone number. Include the area code.
phone-error-premium-rate = That is a premium-rate number. Use a mobile or landline number instead.
phone-error-shared-cost = That is a shared-cost number. Use a mobile or landline number instead.
phone-error-not-a-phone = That number can't receive text messages or phone calls. Use a mobile or landline number instead.
phone-already-on-account = That number is already on your account.
phone-too-many-on-account = { $count ->
        [one] You already have 1 phone number, the most an account can have. Change or remove it instead.
       *[other] You already have { $count } phone numbers, the most an account can have. Change or remove one instead.
    }
phone-used-by-other-accounts = That number is already used by several other accounts, so we can't add it here. Contact support if it really is yours.

# The number form (enrolment and the console).
phone-number-label = Phone number
phone-new-number-label = New phone number
phone-number-hint = Include the area code. For a number outside the US, start with + and the country code.
phone-channel-legend = How should we send codes?
phone-channel-sms = Text message (SMS)
phone-channel-voice = Phone call
phone-send-code = Send code

# Changing or adding a number from the account: its steps and pages.
phone-step-confirm-you = Confirm it's you
phone-step-number = New number
phone-step-code = Enter the code
phone-step-review = Check and confirm
phone-change-title = Change your phone number
phone-add-title = Add a phone number
phone-change-heading = Change { $number }
phone-code-heading = Enter the code
phone-code-sent-sms = We sent a code to { $number } by text message.
phone-code-sent-voice = We sent a code to { $number } by phone call.
phone-continue = Continue
phone-text-new-code = Text me a new code
phone-call-instead = Call me instead
phone-wrong-number = Wrong number?
phone-change-it = Change it
phone-code-resent = We've sent a new code.
phone-review-heading = Check and confirm
phone-review-intro = Make sure the new number is right: security codes and alerts will go to it.
phone-review-old = Old number
phone-review-new = New number
phone-review-channel = Codes by
phone-channel-sms-short = text message
phone-channel-voice-short = phone call
phone-review-notices-replace = We'll tell you about this change by email, and by text message to the old and the new number.
phone-review-notices-add = We'll tell you about this change by email and by text message to the new number.
phone-confirm = Confirm
phone-cancel = Cancel
phone-updated-title = Phone number updated
phone-updated-replaced = { $old } was replaced by { $new } on { $date }.
phone-updated-added = Added { $new } on { $date }.
phone-updated-notices-replace = We've sent a notice to your email, the old number and the new number. Keep this page as your receipt.
phone-updated-notices-add = We've sent a notice to your email and the new number. Keep this page as your receipt.
phone-removed-title = Phone number removed
phone-removed-notice = { $number } was removed on { $date }. We've told you by email and by text to that number.
phone-back-to-account = Back to your account

# Refusals while changing a number.
phone-not-on-account = That phone number isn't on your account.
phone-no-code-to-resend = There's no code waiting to be resent.
phone-no-code-waiting = There's no code waiting for this step. Start the change again from your account.
phone-not-confirmed-yet = This change hasn't been confirmed with a code yet. Start again from your account.

# "Is this still your number?" (asked at sign-in now and then).
phone-review-title = Is this still your number?
phone-review-question = Is { $number } still your number?
phone-review-why = We send your security codes and alerts to this number. It's been a while since you confirmed it.
phone-review-yes = Yes, it's still mine
phone-review-update = Update it

# A link to the help centre.
phone-help = Help with your phone number
phone-remove-last-method = This phone is your only way to confirm it's you, so it can't be removed. Add another method first.
