-- 0007: the last lines of output of a round agx-triage ran (at most 64 KiB), kept so a failed
-- round can be read afterwards without holding its whole output.
ALTER TABLE rounds ADD COLUMN output_tail TEXT;
