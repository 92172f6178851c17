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
