# Shared by every page: the frame, the language switcher, error pages.
language-name = English
language-switch-label = Language
skip-to-content = Skip to main content
signed-in-as = Signed in as { $email }
sign-out = Sign out
footer-terms = Terms of service
footer-support = Contact support
footer-help = Help
support-phone = Call us at { $phone }
support-hours = Hours: { $hours }
language-unknown = We don't offer that language yet.

error-bad-request-heading = We couldn't use that request
error-csrf-heading = This form has expired
error-csrf-body = For your security, forms only work for a while and only in the browser that opened them. Go back, reload the page, and try again.
error-not-found-heading = Page not found
error-not-found-body = There's nothing at this address.
error-internal-heading = Something went wrong on our side
error-internal-body = Nothing you did caused this, and nothing was changed. Please try again in a moment.
error-go-home = Go to the start page
footer-nav-label = Site links
banner-label = An official website of the United States government
banner-how = Here's how you know
banner-dotgov-title = Official websites use .gov
banner-dotgov-body = A .gov website belongs to an official government organization in the United States.
banner-https-title = Secure .gov websites use HTTPS
banner-https-body = A lock or https:// means you've safely connected to the .gov website. Share sensitive information only on official, secure websites.
