-- 0013: each distinct stack is stored once, in `stacks`, keyed by the BLAKE3 hash of its
-- text; a report points at its crashed thread's stack and its exception backtrace's
-- (`reports.crashed_stack`, `reports.exception_stack`). `report_frames` is gone.
--
-- Why (docs/DATA_MODEL.md, `stacks`): the reports of a stress suite crash in the same few
-- stacks all day. On the bench's real-derived set (8,000 reports, 8 distinct crashes)
-- `report_frames` was 27.3 MB of a 43.8 MB store for 8 distinct crashed stacks, and writing
-- 3.3 KB of frames per report through the WAL was a large part of the single writer's time.
-- Two columns on `reports` rather than a slimmer `report_frames`: no second row and B-tree
-- insert per report. No index on them: no query looks reports up by stack.
--
-- The frames text is carried over byte for byte. SQLite cannot compute BLAKE3, so the rows
-- get a placeholder key here (`migrating:<id>`) and `hash_stacks` in src/store/migrations.rs
-- (Rust, in the same transaction) replaces it with the hash of the text.
CREATE TABLE stacks (
    id     INTEGER PRIMARY KEY,
    hash   TEXT NOT NULL UNIQUE,     -- lowercase BLAKE3 hex of `frames`
    frames TEXT NOT NULL             -- JSON array of frames, src/store/reports/frames.rs
);
ALTER TABLE reports ADD COLUMN crashed_stack INTEGER REFERENCES stacks(id);
ALTER TABLE reports ADD COLUMN exception_stack INTEGER REFERENCES stacks(id);

-- Every distinct text once (UNION compares bytes: the columns are BINARY), then each report
-- pointed at its texts' rows through a temporary index on the text. Quirk: a damaged or
-- edited database can hold a stack as a BLOB (a TEXT column keeps it one); a BLOB never
-- equals a TEXT, so the same bytes would make two rows with one key. Hence the CASTs: the
-- bytes are kept, as TEXT.
INSERT INTO stacks (hash, frames)
    SELECT 'migrating:' || row_number() OVER (), frames FROM (
        SELECT CAST(crashed AS TEXT) AS frames FROM report_frames WHERE crashed IS NOT NULL
        UNION SELECT CAST(exception AS TEXT) FROM report_frames WHERE exception IS NOT NULL);
CREATE INDEX stacks_frames_migrating ON stacks (frames);
UPDATE reports SET
    crashed_stack = (SELECT s.id FROM report_frames f
                     JOIN stacks s ON s.frames = CAST(f.crashed AS TEXT)
                     WHERE f.report_id = reports.id),
    exception_stack = (SELECT s.id FROM report_frames f
                       JOIN stacks s ON s.frames = CAST(f.exception AS TEXT)
                       WHERE f.report_id = reports.id)
    WHERE id IN (SELECT report_id FROM report_frames);
DROP INDEX stacks_frames_migrating;
DROP TABLE report_frames;
