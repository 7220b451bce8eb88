-- 0008: a report's frames are one row per report, each stack one JSON array, instead of one
-- row per frame; and four report indexes nothing queries are gone.
--
-- Why: a report stores ~30 frames, and a row per frame (with its B-tree insert and WAL pages)
-- was most of the single writer's time at ingest. Nothing looks a frame up alone: `reports
-- --frame` scans every crashed stack, `show` and `symbolicate` read or write one report's
-- stacks whole. The encoding is in src/store/reports/frames.rs and docs/DATA_MODEL.md: an
-- object per frame with short keys, a key absent when its value is unknown.
CREATE TABLE report_frames (
    report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
    crashed   TEXT,      -- the crashed thread's frames, top first; NULL: none
    exception TEXT       -- lastExceptionBacktrace; NULL: none
);

-- Carry over the frames of databases written by migrations 1-7. json_patch('{}', obj) drops
-- the members whose value is NULL, as the Rust encoder leaves them out.
CREATE TEMP TABLE frame_json AS
    SELECT report_id, stack, idx,
        json_patch('{}', json_object('i', image_index, 'img', image_id, 'off', image_offset,
            'addr', address, 'sym', symbol, 'symoff', symbol_offset, 'src', symbol_source,
            'file', source_file, 'line', source_line)) AS frame
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
-- nothing selects by incident id (`identity` is the unique key), pid or exception type. Each
-- was one more B-tree written per report.
DROP INDEX reports_process;
DROP INDEX reports_incident;
DROP INDEX reports_pid;
DROP INDEX reports_exception;
