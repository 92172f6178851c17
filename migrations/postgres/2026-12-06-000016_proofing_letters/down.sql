DROP TABLE proofing_letters;
