-- 0002: every report carries its signature (with the algorithm version that made it) and the
-- known pattern it matched, if any (rule id and title as they were when it was bucketed).
ALTER TABLE reports ADD COLUMN signature TEXT;
ALTER TABLE reports ADD COLUMN signature_version INTEGER;
ALTER TABLE reports ADD COLUMN pattern TEXT;
ALTER TABLE reports ADD COLUMN pattern_title TEXT;
CREATE INDEX reports_signature ON reports(signature, captured_at);
CREATE INDEX reports_pattern ON reports(pattern);
