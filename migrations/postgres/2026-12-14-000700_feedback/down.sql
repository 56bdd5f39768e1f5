ALTER TABLE business_settings DROP COLUMN feedback;
DROP TABLE expectation_factor_ratings;
DROP TABLE servqual_answers;
DROP TABLE survey_invitations;
DROP TABLE feedback_surveys;
DROP TABLE feedback;
