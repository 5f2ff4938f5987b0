DROP TABLE revocations;
ALTER TABLE refresh_tokens DROP COLUMN replaced_by;
ALTER TABLE login_throttle DROP COLUMN in_flight_until;
