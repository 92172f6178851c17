-- What an authorization asked of verified data (proofing::claims::Remembered, JSON): the verified
-- claims the person allowed for this grant and the verified_claims requests for the ID token and
-- userinfo, so every later answer (userinfo, refresh) follows the original request. NULL: none.
ALTER TABLE grants ADD COLUMN claims_request TEXT;
