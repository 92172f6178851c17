# "Contact support" (/support). Owned by the console area.

support-form-title = Contact support
support-form-category-sign-in = I can't sign in
support-form-category-lost-phone = I lost my phone or can't get codes
support-form-category-account-security = Something happened on my account that wasn't me
support-form-category-other = Something else
support-form-category-missing = Choose what your message is about.
support-form-email-invalid = Enter an email address we can reply to, like name@example.com.
support-form-message-missing = Tell us what happened or what you need.
support-form-message-too-long = Please keep your message under { $count } characters.
support-form-too-many = You've sent several messages in the last hour. Please wait a while before sending another; we'll answer the ones we have.

## The form (templates/support.html).

support-form-intro = Tell us what's wrong and how to reach you. Don't include your password or any code we sent you.
support-form-category-label = What is it about?
support-form-category-choose = Choose one
support-form-email-label = Email address for our reply
support-form-message-label = Your message
support-form-message-hint = Up to { $count } characters.
support-form-send = Send
support-form-filed-before = Thank you. Your ticket number is
support-form-filed-after = We've sent a confirmation to { $email } and will reply there.
support-form-never-ask = We will never ask you for your password or for a code we sent you.
