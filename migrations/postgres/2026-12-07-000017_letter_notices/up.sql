-- Verify by mail, the person's e-mails: the row itself is the queue. Marking a letter sent
-- (status `sent`, `sent_at`) queues the "letter sent" e-mail in the same statement; it is
-- claimed by setting `sent_notice_at` (once, whichever node gets there first) just before it
-- goes out. `reminded_at` claims the one reminder sent when the code is still unused
-- `proofing.letter_reminder_days` after the letter was sent.
ALTER TABLE proofing_letters ADD COLUMN sent_notice_at TIMESTAMP;
ALTER TABLE proofing_letters ADD COLUMN reminded_at TIMESTAMP;
-- Letters marked sent before this: nobody is told of them now.
UPDATE proofing_letters SET sent_notice_at = sent_at WHERE sent_at IS NOT NULL;
CREATE INDEX proofing_letters_sent ON proofing_letters (status, sent_at);
