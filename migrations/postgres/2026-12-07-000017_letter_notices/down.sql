DROP INDEX proofing_letters_sent;
ALTER TABLE proofing_letters DROP COLUMN reminded_at;
ALTER TABLE proofing_letters DROP COLUMN sent_notice_at;
