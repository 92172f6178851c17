# Every e-mail, text message and voice call Verity sends (src/notify/notices.rs renders them).
# Variables every notice may use: $site (the product's name), $help (the help center's address),
# $reset (the "forgot password" page's address). Times ($when, $ready) are already written out.
# E-mail bodies are plain text: keep the blank lines between paragraphs and links on their own
# line. Text messages must stay short. In the security code's text, the code comes first.

## Sign-up

notice-confirm-email-subject = Confirm your email for { $site }
notice-confirm-email-body =
    Welcome to { $site }.

    Confirm your email address and choose your password by opening this link:

    { $link }

    The link works once and expires in { $hours ->
        [one] 1 hour
       *[other] { $hours } hours
    }.

    If you did not create an account, ignore this email: no account will be activated.

notice-sign-up-existing-subject = Someone tried to sign up to { $site } with your email
notice-sign-up-existing-body =
    Someone tried to create a { $site } account with this email address, but you already have one.

    If it was you, sign in here: { $link }

    If it was not you, you don't need to do anything. Your account has not changed.

## Sign-in: locks, codes, alerts

notice-sign-in-paused-subject = Sign-in to your { $site } account is paused
notice-sign-in-paused-body =
    We locked sign-in to your { $site } account after many wrong passwords. The last attempt came from IP address { $ip }.

    You can try again in { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }. If you forgot your password, you don't have to wait: reset it with this link.

    { $reset }

    If this was not you, someone may be guessing your password. Choose a new, unique password when you are back in.

    Need help? { $help }
notice-sign-in-paused-sms = { $site }: sign-in to your account is paused for { $minutes } min after many wrong passwords. Forgot your password? Reset it: { $reset }

notice-sign-in-locked-subject = Sign-in to your { $site } account is locked until you reset your password
notice-sign-in-locked-body =
    We locked sign-in to your { $site } account after many wrong passwords. The last attempt came from IP address { $ip }.

    Sign-in stays locked until you reset your password. Waiting won't unlock it. To choose a new password, open this link:

    { $reset }

    If you can't reset your password, contact support and we'll help you. Our help center explains how: { $help }

    If this was not you, someone may be guessing your password. Your new password keeps them out.
notice-sign-in-locked-sms = { $site }: sign-in to your account is locked after many wrong passwords. Reset your password to unlock it: { $reset }

notice-second-factor-paused-subject = Too many wrong security codes on your { $site } account
notice-second-factor-paused-body =
    There were { $failures } wrong security codes on your { $site } account, so sign-in with a second factor is paused for { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }.

    If this wasn't you, someone may know your password: change it as soon as you can sign in.

    Need help? { $help }
notice-second-factor-paused-sms = { $site }: too many wrong security codes, so sign-in to your account is paused for { $minutes } min. Not you? Someone may know your password: change it when you can sign in.

notice-security-code-subject = { $site } security code
notice-security-code-sms = { $code } is your { $site } security code. It expires in { $minutes } minutes. Don't share it with anyone.
# $spoken is the code digit by digit ("1, 2, 3"), so it is read out that way.
notice-security-code-voice = Your { $site } security code is { $spoken }. Again: { $spoken }.

notice-new-sign-in-subject = New sign-in to your { $site } account
notice-new-sign-in-body =
    { $why ->
        [network] Your { $site } account was just signed in to on a browser you've used before, but from a new network.
       *[device] Your { $site } account was just signed in to from a new device.
    }

    When: { $when }
    Browser: { $browser }
    IP address: { $ip }

    If this was you, there's nothing to do.
    If this wasn't you, open this link to sign out everywhere:

    { $link }
notice-new-sign-in-sms = { $site }: new sign-in to your account at { $when } from { $ip }. Not you? { $link }
notice-unknown-browser = an unknown browser

## Password

notice-password-reset-link-subject = Reset your { $site } password
notice-password-reset-link-body =
    Someone asked to reset the password of your { $site } account.

    To choose a new password, open this link within { $minutes ->
        [one] 1 minute
       *[other] { $minutes } minutes
    }:

    { $link }

    The link works once. If you didn't ask for this, you can ignore this email: your password stays as it is.

notice-password-reset-subject = Your { $site } password was changed
notice-password-reset-body =
    The password of your { $site } account was reset on { $when }. Every device was signed out and every app connected to your account has to sign in again.

    If this wasn't you, contact support right away: { $help }
notice-password-reset-sms = { $site }: your password was reset on { $when }. Not you? Contact support: { $help }

notice-password-changed-subject = Your { $site } password was changed
notice-password-changed-body =
    The password of your { $site } account was changed on { $when }. Every other device was signed out.

    If this wasn't you, open this link right away:

    { $link }
notice-password-changed-sms = { $site }: your password was changed on { $when }. Not you? { $link }

## Second factors

notice-methods-changed-subject = Your { $site } sign-in methods changed
notice-methods-changed-body =
    { $change ->
        [app-added] An authenticator app was added to your { $site } account on { $when }.
       *[app-removed] An authenticator app was removed from your { $site } account on { $when }.
    }

    If this wasn't you, open this link right away:

    { $link }

notice-key-changed-subject = Your { $site } sign-in methods changed
notice-key-changed-body =
    { $change ->
        [key-added] A security key ("{ $name }") was added to your { $site } account on { $when }.
        [key-removed] A security key ("{ $name }") was removed from your { $site } account on { $when }.
        [passkey-added] A passkey ("{ $name }") was added to your { $site } account on { $when }.
       *[passkey-removed] A passkey ("{ $name }") was removed from your { $site } account on { $when }.
    }

    If this wasn't you, open this link right away:

    { $link }
notice-key-changed-sms = { $site }: { $change ->
        [key-added] a security key was added
        [key-removed] a security key was removed
        [passkey-added] a passkey was added
       *[passkey-removed] a passkey was removed
    } on { $when }. Not you? { $link }
notice-key-cloned-subject = A security key on your { $site } account may have been copied
notice-key-cloned-body =
    On { $when }, your security key or passkey "{ $name }" gave an answer that suggests someone copied it, so we refused it.

    If you still have the key, try again with it. If this happens again, remove it from your account and add a new one, and consider changing your password.

notice-phones-changed-subject = Your { $site } phone numbers changed
notice-phones-changed-body =
    { $change ->
        [replaced] On { $when }, the phone number { $old } was replaced by { $new } on your { $site } account.
        [added] On { $when }, the phone number { $new } was added to your { $site } account.
        [removed] On { $when }, the phone number { $old } was removed from your { $site } account.
       *[other] On { $when }, your phone numbers changed on your { $site } account.
    }

    If this was you, there's nothing to do.
    If this wasn't you, open this link to sign out everywhere and secure your account:

    { $link }

notice-phone-old-number-subject = { $site } phone change
notice-phone-old-number-sms = { $site }: your number on { $site } was changed on { $when }. If this wasn't you, go to { $link }

notice-phone-new-number-subject = { $site } phone added
notice-phone-new-number-sms = { $site }: this number is now on your { $site } account (since { $when }). Security codes will come here.

notice-factors-removed-by-support-subject = The second factors on your { $site } account were removed
notice-factors-removed-by-support-body =
    At your request, our support team removed every second factor (phone numbers, authenticator apps, backup codes) from your { $site } account, and signed it out everywhere.

    The next time you sign in, you'll set up a new one.

    If you didn't ask for this, contact { $site } support right away: { $help }

## Email addresses

notice-confirm-added-email-subject = Confirm your new email for { $site }
notice-confirm-added-email-body =
    To confirm this address for your { $site } account, open this link in a browser where you are signed in to that account, and press Confirm:

    { $link }

    If you didn't ask for this, ignore this email: nothing changes unless it is confirmed.

notice-email-added-subject = An email address was added to your { $site } account
notice-email-added-body =
    The address { $address } was added to your { $site } account and is waiting for confirmation.

    If this wasn't you, sign in and remove it, and change your password.

notice-email-confirmed-subject = A new email address is confirmed on your { $site } account
notice-email-confirmed-body =
    The address { $address } is now confirmed on your { $site } account.

    If this wasn't you, sign in and remove it, and change your password. Need help? { $help }
notice-email-confirmed-sms = { $site }: { $address } is now an email address on your account. Not you? Get help: { $help }

notice-sign-in-email-changed-subject = Your { $site } sign-in email changed
notice-sign-in-email-changed-body =
    You now sign in to { $site } with { $new } instead of { $old }.

    If this wasn't you, sign in and change it back, and change your password.
notice-sign-in-email-changed-sms = { $site }: you now sign in with { $new } instead of { $old }. Not you? Get help: { $help }

notice-email-removed-subject = An email address was removed from your { $site } account
notice-email-removed-body =
    The address { $address } was removed from your { $site } account.

    If this wasn't you, sign in and change your password.
notice-email-removed-sms = { $site }: { $address } was removed from your account. Not you? Get help: { $help }

## Account reset (every second factor lost)

notice-account-reset-confirm-subject = Confirm your { $site } account reset
notice-account-reset-confirm-body =
    Someone who knows your password asked to reset the sign-in methods of your { $site } account because they no longer have their phone or other second factor.

    To confirm the request, open this link:

    { $link }

    After you confirm, there is a wait of { $hours ->
        [one] 1 hour
       *[other] { $hours } hours
    } for your security. Then we'll email you a link that removes your phone numbers, authenticator apps and backup codes, so you can set up new ones.

    If you didn't ask for this, ignore this email and change your password: someone knows it.

notice-account-reset-requested-subject = Account reset requested for your { $site } account
notice-account-reset-requested-body =
    Someone asked to remove every sign-in method (phone numbers, authenticator apps, backup codes) from your { $site } account on { $when }.

    It becomes possible on { $ready }. If this was you, there's nothing to do: we'll email you a link then.

    If this wasn't you, sign in to { $site } as usual (password and your phone or app) before then: that cancels the reset. Then change your password, because whoever asked knows it.
notice-account-reset-requested-sms = { $site }: someone asked to reset your account's sign-in methods. Not you? Sign in before { $ready } to cancel it.

notice-account-reset-ready-subject = You can now reset your { $site } account
notice-account-reset-ready-body =
    The waiting period of your account reset is over. Open this link to remove every phone number, authenticator app and backup code from your { $site } account:

    { $link }

    Then sign in with your password and set up new sign-in methods. The link works once and expires in { $hours ->
        [one] 1 hour
       *[other] { $hours } hours
    }.

    If you no longer need the reset, ignore this email.

notice-account-reset-done-subject = Your { $site } sign-in methods were removed
notice-account-reset-done-body =
    As requested, every phone number, authenticator app and backup code was removed from your { $site } account on { $when }, and every device was signed out. Sign in with your password to set up new ones.

    If this wasn't you, contact support right away: { $help }

notice-account-reset-number-removed-subject = { $site } account reset
notice-account-reset-number-removed-sms = { $site }: this number was removed from an account by an account reset. Not you? Contact support: { $help }

notice-account-reset-cancelled-subject = Your { $site } account reset was cancelled
notice-account-reset-cancelled-body =
    Your { $site } account was signed in to on { $when } with its password and second factor, so the account reset that was waiting has been cancelled. Your sign-in methods stay as they are.

    If you still need a reset, ask for it again. If you didn't ask for one, change your password: whoever asked knows it.
notice-account-reset-cancelled-sms = { $site }: the account reset that was waiting was cancelled because you signed in.

## Support

notice-support-received-subject = We received your message ({ $ticket })
notice-support-received-body =
    Thank you for contacting { $site } support. Your ticket number is { $ticket }.

    We'll reply to this address. If you write to us again about this, please mention the ticket number.

    We will never ask you for your password or for a code we sent you.

# $reply is the support agent's answer, as they wrote it.
notice-support-reply-subject = Re: your message to { $site } support ({ $ticket })
notice-support-reply-body =
    { $reply }

    --
    { $site } support, about ticket { $ticket }. Reply by contacting support again and mention the ticket number: { $help }
    We will never ask you for your password or for a code we sent you.

# $subject and $body are the operator's notice, as they wrote it.
notice-service-subject = { $subject }
notice-service-body =
    { $body }

    --
    You are receiving this because you have an account at { $site }. This is a service notice; it asks you for nothing. We will never ask you for your password or for a code we sent you.

notice-account-deleted-subject = Your { $site } account was deleted
notice-account-deleted-body =
    Your { $site } account and the personal data in it were deleted by our support team.

    If you didn't ask for this, contact { $site } support: { $help }

## Identity verification

notice-identity-verified-subject = Your identity was verified with { $site }
notice-identity-verified-body =
    Your { $site } account now holds a verified identity (checked on { $when }). Apps you allow can now receive your verified name, birth date and address.

    If you did not verify your identity, open this link right away:

    { $link }
notice-identity-verified-sms = { $site }: your identity was verified on { $when }. Not you? { $link }
notice-identity-removed-subject = Your verified identity was removed from { $site }
notice-identity-removed-body =
    { $by ->
        [support] Support removed the verified identity data from your { $site } account on { $when }.
       *[you] The verified identity data was removed from your { $site } account on { $when }.
    } Apps that need a verified identity will ask you to verify again.

    If you did not expect this, open this link right away:

    { $link }
notice-identity-removed-sms = { $site }: your verified identity data was removed on { $when }. Not you? { $link }
notice-letter-sent-subject = Your { $site } letter is on its way
notice-letter-sent-body =
    The letter with your { $site } verification code was mailed on { $sent } to the address you confirmed. Mail can take a few days.

    When it arrives, sign in and enter the code here (it works until { $until }):

    { $link }

    If you did not ask for a letter, contact support: { $help }
notice-letter-reminder-subject = Enter the code from your { $site } letter
notice-letter-reminder-body =
    We mailed you a letter with a { $site } verification code on { $sent }, and the code has not been entered yet. It works until { $until }; after that you will need a new letter.

    Sign in and enter the code here:

    { $link }

    If the letter never arrived, you can ask for another one on the same page.
notice-referee-reminder-subject = Your { $site } video call with an agent
notice-referee-reminder-body =
    { $queue ->
        [yes] An agent is ready for your video call to verify your identity.
       *[no] Your video call with an agent to verify your identity starts at { $when }.
    } Join it here:

    { $meeting }

    Have your ID and your continuation code ready: the agent asks for the code first. You can see your case here:

    { $link }

    If you did not ask for a call, contact support: { $help }
notice-referee-reminder-sms = { $site }: { $queue ->
        [yes] an agent is ready for your video call.
       *[no] your video call with an agent starts at { $when }.
    } Join: { $meeting }
notice-referee-decided-subject = Your { $site } verification with an agent
notice-referee-decided-body =
    { $outcome ->
        [verified] The agent confirmed your identity. To finish, sign in and enter your password one more time: it seals your verified information so only you can unlock it.
       *[not_verified] The agent could not confirm your identity, so this verification has ended. You can start again at any time.
    }

    { $link }

    If you have questions, contact support: { $help }
