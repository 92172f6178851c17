## The agent desk (/referee): trusted-referee agents work verification cases here.

referee-desk-title = Agent desk
referee-desk-agent = Signed in as agent { $name }.
referee-desk-certified = Certified through { $date }.
referee-desk-cases = Open cases
referee-desk-none = No one is waiting for an agent.
referee-desk-privacy = A case shows the person's details only after you claim it and they read you their continuation code on the call. Every look at a case is recorded.
referee-figure-queue = { $count ->
    [one] 1 person in the queue
   *[other] { $count } people in the queue
}
referee-figure-wait = Expected wait for the last in the queue: { $minutes } min. Longest wait so far: { $longest } min.
referee-figure-scheduled = Booked calls: { $scheduled }. Calls under way: { $claimed }.
referee-col-when = When
referee-col-status = Status
referee-col-from = Online check that failed
referee-col-waited = Waiting
referee-col-action = Action
referee-status-scheduled = Booked
referee-status-queued = In the queue
referee-status-claimed = Claimed
referee-yours = yours
referee-queue-place = Place { $place } in the queue
referee-queue-next = Next available agent
referee-waited = { $minutes } min
referee-from-document = The ID document
referee-from-selfie = The photo of their face
referee-from-ssn = The Social Security number
referee-from-review = The records check
referee-claim = Claim
referee-open = Open
referee-done-verified = Decision recorded: verified. The person is emailed to finish at their password step.
referee-done-not-verified = Decision recorded: not verified.
referee-done-fraud = Decision recorded: fraud suspected. The person's verification is held for review.
referee-done-released = The case is waiting again for an agent.
referee-case-taken = Another agent claimed this case.
referee-claim-too-late = This case can't be claimed any more: it was claimed, or it ended.
referee-case-closed = This case can't be worked any more: it was decided or it expired, or the person's verification ended.
referee-forbidden-heading = Not available to this account
referee-forbidden = This page is for certified verification agents. Ask your operator to link your account to an agent or to renew your certification. An agent can't work a case of their own account.

referee-case-title = Verification case
referee-back = Back to the agent desk
referee-meeting-link = Meeting link
referee-evidence = What the online check collected
referee-evidence-masked = Names are shortened, and the photos are hidden, until the person reads you their continuation code.
referee-evidence-none = The online check read nothing about this person.
referee-online-results = Online results
referee-passed = Passed: { $check }
referee-last-failure = Last refusal: { $reason }
referee-flag = Flag: { $flag }
referee-person-given-name = First name
referee-person-middle-name = Middle name
referee-person-family-name = Last name
referee-person-birthdate = Date of birth (YYYY-MM-DD)
referee-person-birth-year = Year of birth
referee-person-ssn-last4 = Social Security number
referee-person-document-number = Document number
referee-person-address = Address
referee-person-phone = Phone
referee-document-type = Document
referee-document-issuer = Issued by (state code, or ICAO country code for a passport)
referee-document-expiry = Expires (YYYY-MM-DD)
referee-document-driving-permit = Driver's license
referee-document-idcard = State ID card
referee-document-passport = Passport
referee-image-front = Front of the ID
referee-image-back = Back of the ID
referee-image-selfie = Photo of their face

referee-call = On the call
referee-code-label = Continuation code
referee-code-hint = Ask the person to read the code they were shown when they asked for an agent.
referee-code-wrong = That code doesn't match this case. Check it with the person.
referee-code-used = This continuation code was already used.
referee-code-first = Confirm the person's continuation code before you decide "verified".
referee-code-confirmed = The person's continuation code matched.
referee-checks-legend = What you checked
referee-check-document-shown = They showed their ID on camera
referee-check-face-matches = Their face matches the photo on the ID
referee-check-details-match = The details on the ID match what they told you
referee-notes-label = Notes (optional)
referee-checks-save = Save
referee-checks-saved = Saved.
referee-checks-too-long = The notes are too long.
referee-release = Give this case back to the queue
referee-release-too-late = The call began (the code matched), so the case can't be given back: decide it.

referee-decision = Your decision
referee-decision-legend = Decision
referee-decision-verified = Verified: this is the person, and their ID is genuine
referee-decision-not-verified = Not verified
referee-decision-fraud = Fraud suspected
referee-decision-missing = Choose a decision.
referee-rationale-label = Why
referee-rationale-hint = { $count ->
    [one] Up to 1 character.
   *[other] Up to { $count } characters.
}
referee-rationale-invalid = Say why, in up to the number of characters shown.
referee-identity-legend = Read from the ID on the call
referee-identity-hint = The online check never read these. Needed only for "verified".
referee-choose = Choose
referee-identity-document-type = Choose the document the person showed, and fill in what it says.
referee-identity-name = Enter the name as it is on the ID.
referee-identity-date = Enter the date as YYYY-MM-DD.
referee-identity-expiry = Enter the expiry as YYYY-MM-DD; an expired ID can't be used.
referee-identity-document-number = Enter the document number.
referee-identity-issuer = Enter the issuing state's two-letter code (VA), or the three-letter country code on a passport (USA).
referee-identity-address = Enter the street, city, two-letter state and ZIP code of a US address.
referee-identity-ssn = Enter the nine digits of the Social Security number.
referee-identity-ssn-label = Social Security number (as the person gave it on the call)
referee-decide = Record the decision
