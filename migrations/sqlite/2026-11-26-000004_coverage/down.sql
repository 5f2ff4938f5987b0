ALTER TABLE committees ADD COLUMN eligible_count BIGINT NOT NULL DEFAULT 0;
DROP TABLE coverage_history;
DROP TABLE coverage_counts;
