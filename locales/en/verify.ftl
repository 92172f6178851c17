## Identity verification (/verify)

verify-start-title = Verify your identity
verify-start-heading = Verify your identity
verify-start-intro = Some services, such as tax or benefit services, need to know who you are. We check your ID, a selfie, your Social Security number and your phone, then tell the services you choose that your identity is verified.
verify-start-need-heading = What you'll need
verify-start-need-document = A U.S. driver's license, state ID card or passport that hasn't expired
verify-start-need-phone = A phone number in your name
verify-start-need-ssn = Your Social Security number
verify-start-time = It usually takes about 15 minutes. You can stop and come back: we keep your place for 30 days.
verify-start-use-heading = How we use your information
verify-start-use = We send your details to companies that check identity documents, records and phone numbers on our behalf, only to verify you. Your verified name, birth date and address go only to services you agree to share them with; your Social Security number only to services allowed to ask for it, and only when you agree.
verify-start-keep = We delete the photos of your ID and your selfie once they've been checked. You can remove your verified information from your account at any time.
verify-consent-label = I agree that my information is checked as described above.
verify-consent-required = Check the box to agree before you continue.
verify-start-button = Agree and continue
verify-help = Help with verifying your identity
verify-continue = Continue
verify-start-over = Start over
verify-contact-support = Contact support

verify-step-document = Your ID
verify-step-selfie = Selfie
verify-step-ssn = Social Security number
verify-step-review = Review
verify-step-phone = Phone

verify-document-title = Add photos of your ID
verify-document-heading = Add photos of your ID
verify-document-intro = Take the photos on a dark, flat surface in good light, with all four corners of the document in the picture.
verify-document-type-legend = Which document do you have?
verify-doc-drivers-license = Driver's license
verify-doc-state-id = State ID card
verify-doc-passport = U.S. passport
verify-front-label = Front of your license or ID, or the photo page of your passport
verify-front-hint = A JPEG or PNG photo.
verify-back-label = Back of your license or ID (not needed for a passport)
verify-back-hint = Make sure the barcode is sharp and not cut off.
verify-fixtures-hint = Test mode: instead of a photo, you can upload a small JSON or YAML file that describes the document (see the README).
verify-document-type-missing = Choose which document you have.
verify-front-missing = Add a photo of the front of your ID or of your passport's photo page.
verify-back-missing = Add a photo of the back of your license or ID: we read its barcode.
verify-barcode-unreadable = We couldn't read the barcode on the back. Take the photo again in good light, holding the camera steady, with the whole barcode in the picture.
verify-barcode-invalid = The barcode on the back doesn't hold the information of a U.S. license or ID. Check that you photographed the back of the right card.
verify-mrz-invalid = We couldn't read the two lines of letters and numbers at the bottom of your passport's photo page. Take the photo again with the whole page in the picture.
verify-document-mismatch = The front and the back of your ID don't match. Take both photos again of the same card.
verify-document-expired = This document has expired. Use a driver's license, state ID or passport that is still valid.
verify-document-not-authentic = We couldn't confirm that this document is genuine. Take the photos again, without glare or covers, or use another document.
verify-document-wrong-type = This isn't the kind of document you chose. Check the document type and try again.
verify-image-too-large = That file is too large. Use a photo smaller than 10 MB.
verify-image-too-many-pixels = That photo is too large. Use a photo straight from your phone's camera.
verify-image-too-small = That photo is too small to read. Take it closer, with the document filling most of the picture.
verify-image-not-photo = That file isn't a photo. Use a JPEG or PNG picture.
verify-image-unreadable = We couldn't open that photo. Take it again.

verify-selfie-title = Take a selfie
verify-selfie-heading = Take a selfie
verify-selfie-intro = We compare your face with the photo on your ID. Remove glasses and hats, and face the camera in good light.
verify-selfie-label = Your selfie
verify-selfie-hint = A JPEG or PNG photo of your face.
verify-selfie-missing = Add a selfie to continue.
verify-selfie-no-match = Your selfie doesn't seem to match the photo on your ID. Take it again, facing the camera in good light.
verify-selfie-not-live = We couldn't confirm the selfie was taken just now. Take a new photo of your face, not of a picture or a screen.

verify-ssn-title = Enter your Social Security number
verify-ssn-heading = Enter your Social Security number
verify-ssn-intro = We check it with trusted records together with the details on your ID. It is kept encrypted and shown only partly hidden.
verify-ssn-label = Social Security number
verify-ssn-hint = 9 digits, for example 123-45-6789.
verify-ssn-format = Enter your 9-digit Social Security number.
verify-ssn-impossible = That isn't a valid Social Security number. Check it on your card and try again.

verify-review-title = Check your information
verify-review-heading = Check your information
verify-review-intro = This is what we read from your ID. If you live at another address now, change it below before you continue.
verify-review-name = Name
verify-review-birthdate = Date of birth
verify-review-address = Address
verify-review-ssn = Social Security number
verify-review-document = Document
verify-address-different = I live at a different address
verify-address-street1 = Street address
verify-address-street2 = Apartment, suite, unit (optional)
verify-address-city = City
verify-address-state = State (2 letters)
verify-address-zip = ZIP code
verify-address-save = Save this address
verify-address-problems = Check the address fields marked below.
verify-address-needed = Enter the address where you live, then select Verify.
verify-review-button = Verify
verify-records-failed = We couldn't confirm your identity with trusted records. Check that your name, date of birth, address and Social Security number are right, then try again.
verify-state-id-failed = The state that issued your ID couldn't confirm its details. Check that your ID is current, or use another document.

verify-phone-title = Confirm your phone
verify-phone-heading = Confirm your phone
verify-phone-intro = We check that this phone number is in your name, then send it a code.
verify-phone-legend = Which number?
verify-phone-other = Another number
verify-phone-number-label = Phone number (if another number)
verify-phone-unknown = Choose one of your phone numbers or enter another one.
verify-phone-not-associated = We couldn't confirm that this phone number is in your name. Try another number in your name.
verify-phone-cooldown = This number was added to your account recently. For your safety it can't confirm your identity until { $when }. Use another number, or come back then.
verify-code-title = Enter your code
verify-code-heading = Enter the code we sent
verify-code-sent = We sent a code to { $number }.
verify-finish = Finish
verify-phone-use-other = Use another number
verify-letter-offer-heading = No phone in your name?
verify-letter-offer = We can mail a letter with a one-time code to the address you confirmed. It takes a few days to arrive.
verify-letter-request = Send me a letter instead
verify-letter-title = Verify by mail
verify-letter-heading = Enter the code from your letter
verify-letter-intro = We're mailing a letter with a one-time code to the address you confirmed. When it arrives, enter the code here to finish.
verify-letter-requested-on = Letter requested on { $when }.
verify-letter-sent-on = Letter sent on { $when }.
verify-letter-code-label = Code from the letter
verify-letter-code-hint = The letters and numbers printed on the letter. Spaces and dashes don't matter.
verify-letter-didnt-get-it = Didn't get it?
verify-letter-another = Send another letter
verify-letter-another-later = You can ask for another letter after { $when }.
verify-letter-too-many = You've asked for as many letters as we can send for now. You can ask for another after { $when }.
verify-letter-code-format = Enter the code exactly as it is printed on the letter.
verify-letter-code-wrong = That code doesn't match your letter. { $tries ->
    [one] You have 1 more try.
   *[other] You have { $tries } more tries.
}
verify-letter-code-void = No code you were sent can be used anymore: it expired, or there were too many wrong tries. Ask for a new letter.
verify-letter-phone-instead = Verify with a phone instead

verify-done-title = Your identity is verified
verify-done-heading = Your identity is verified
verify-verified-title = Your identity is verified
verify-verified-heading = Your identity is already verified
verify-verified-on = Verified on { $when }.
verify-done-next = Services you choose can now receive your verified information, after you agree each time. You can remove it from your account at any time.
verify-continue-to-app = Continue to the service
verify-back-to-account = Back to your account

verify-held-title = We're reviewing your verification
verify-held-heading = We're reviewing your verification
verify-held-body = Your checks passed, but some of your information is already verified on another account, so a person needs to review it. We'll email you when it's done. If you didn't try to verify on another account, contact support.

verify-out-of-attempts-title = Too many tries
verify-out-of-attempts-heading = You've tried too many times today
verify-out-of-attempts-body = For your security, you can try this step again after { $when }.
verify-agent-coming = Soon you'll also be able to verify with a video call with an agent or by mail. Until then, our help pages or support can help you.
verify-try-later-title = Please try again later
verify-try-later-heading = We can't check this right now
verify-try-later-body = A service we use to check identities isn't answering. Nothing was lost and this didn't count as a try. Please try again in a few minutes.
verify-try-again = Try again
# The printed letter (verify by mail), one page per letter in the person's language.
letter-pdf-heading = Your { $site } verification code
letter-pdf-intro = You asked { $site } to confirm your identity by mail. This letter came to the address you confirmed. To finish, sign in to { $site } and enter the code below.
letter-pdf-until = The code works until { $until }. After that, you can ask for a new letter.
letter-pdf-where = Sign in and enter the code at:
letter-pdf-not-you = If you did not ask { $site } for this letter, someone may be trying to use your identity. Do not share the code; contact us at { $help }.
