DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE activation_codes;
DROP TABLE staff;
DROP TABLE members;
ALTER TABLE committees DROP COLUMN eligible_count;
