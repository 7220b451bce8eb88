-- 0008: a report's frames are one row per report, each stack one JSON array, instead of one
-- row per frame; and four report indexes nothing queries are gone.
--
-- Why: a report stores ~30 frames, and a row per frame (with its B-tree insert and WAL pages)
-- was most of the single writer's time at ingest. Nothing looks a frame up alone: `reports
-- --frame` scans every crashed stack, `show` and `symbolicate` read or write one report's
-- stacks whole. The encoding is in src/store/reports/frames.rs and docs/DATA_MODEL.md.
CREATE TABLE report_frames (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
    crashed   TEXT,      -- the crashed thread's frames, top first; NULL: none
    exception TEXT       -- lastExceptionBacktrace; NULL: none
);

-- Carry over the frames of databases written by migrations 1-7: per frame what the re-parsed
-- original does not give again, [image id, symbol, symbol offset, symbol source, source file,
-- source line], as src/store/reports/frames.rs writes it.
CREATE TEMP TABLE frame_json AS
    SELECT report_id, stack, idx,
        json_array(image_id, symbol, symbol_offset, symbol_source, source_file, source_line)
            AS frame
    FROM frames;
INSERT INTO report_frames (report_id, crashed, exception)
    SELECT report_id,
        CASE WHEN count(*) FILTER (WHERE stack = 'crashed') > 0
            THEN json_group_array(json(frame) ORDER BY idx) FILTER (WHERE stack = 'crashed') END,
        CASE WHEN count(*) FILTER (WHERE stack = 'exception') > 0
            THEN json_group_array(json(frame) ORDER BY idx) FILTER (WHERE stack = 'exception') END
    FROM frame_json GROUP BY report_id;
DROP TABLE frame_json;
DROP TABLE frames;

-- Unused: `reports --process` compares with COLLATE NOCASE, which a BINARY index cannot serve;
-- nothing selects by incident id (`identity` is the unique key), pid or exception type, nor
-- sources by path. Each was one more B-tree written per report.
DROP INDEX reports_process;
DROP INDEX reports_incident;
DROP INDEX reports_pid;
DROP INDEX reports_exception;
DROP INDEX sources_path;
