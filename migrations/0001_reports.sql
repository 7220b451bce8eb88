-- 0001: crash reports, their sources (every path a copy was seen at), the original files
-- (compressed), binary images deduped by UUID, and crashed-thread / exception-backtrace frames.

-- Original file bytes, compressed with zstd, keyed by the sha256 of the uncompressed bytes, so
-- any report can be re-parsed later without its file.
CREATE TABLE files (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    compression TEXT NOT NULL,           -- 'zstd'
    data        BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE reports (
    id                     INTEGER PRIMARY KEY,
    -- incident id when the report has one, else 'sha256:<file sha>#<index in file>'
    identity               TEXT NOT NULL UNIQUE,
    incident_id            TEXT,
    kind                   TEXT NOT NULL CHECK (kind IN ('crash', 'gpu-event', 'other')),
    format                 TEXT NOT NULL,
    bug_type               TEXT,
    file_sha256            TEXT NOT NULL REFERENCES files(sha256),
    file_index             INTEGER NOT NULL DEFAULT 0,   -- which report of a multi-report file
    process                TEXT,
    process_path           TEXT,
    pid                    INTEGER,
    parent_process         TEXT,
    parent_pid             INTEGER,
    bundle_id              TEXT,
    bundle_version         TEXT,
    captured_at            TEXT,         -- RFC 3339, UTC
    captured_at_raw        TEXT,
    os_version             TEXT,
    os_train               TEXT,
    os_build               TEXT,
    hardware_model         TEXT,
    cpu_type               TEXT,
    translated             INTEGER,
    exception_type         TEXT,
    signal                 TEXT,
    exception_codes        TEXT,
    exception_subtype      TEXT,
    exception_message      TEXT,
    fault_address          INTEGER,
    fault_address_stripped INTEGER,
    pointer_auth_failure   INTEGER NOT NULL DEFAULT 0,
    termination_namespace  TEXT,
    termination_code       INTEGER,
    termination_indicator  TEXT,
    asi                    TEXT,         -- JSON array of strings
    crashed_thread         INTEGER,
    crashed_thread_name    TEXT,
    crashed_thread_queue   TEXT,
    thread_count           INTEGER NOT NULL DEFAULT 0,
    frame_count            INTEGER NOT NULL DEFAULT 0,  -- frames of the crashed thread
    top_frame              TEXT,
    warnings               TEXT,         -- JSON array of strings
    ingested_at            TEXT NOT NULL
);
CREATE INDEX reports_captured_at ON reports(captured_at);
CREATE INDEX reports_process ON reports(process, captured_at);
CREATE INDEX reports_exception ON reports(exception_type, signal);
CREATE INDEX reports_incident ON reports(incident_id);
CREATE INDEX reports_pid ON reports(pid);
CREATE INDEX reports_file ON reports(file_sha256);

-- Every path a copy of a report was seen at.
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    UNIQUE (report_id, path)
);
CREATE INDEX sources_path ON sources(path);

-- Binary images, deduped by UUID (or by name/path/arch when the report gives no UUID).
CREATE TABLE images (
    id             INTEGER PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    uuid           TEXT,
    name           TEXT,
    path           TEXT,
    arch           TEXT,
    bundle_id      TEXT,
    bundle_version TEXT
);
CREATE INDEX images_uuid ON images(uuid);

-- The images a report lists, in report order, with their load address in that process.
CREATE TABLE report_images (
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    image_index INTEGER NOT NULL,
    image_id    INTEGER NOT NULL REFERENCES images(id),
    base        INTEGER,
    size        INTEGER,
    PRIMARY KEY (report_id, image_index)
) WITHOUT ROWID;
CREATE INDEX report_images_image ON report_images(image_id);

-- Frames of the crashed thread ('crashed') and of lastExceptionBacktrace ('exception').
CREATE TABLE frames (
    report_id      INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    stack          TEXT NOT NULL CHECK (stack IN ('crashed', 'exception')),
    idx            INTEGER NOT NULL,
    image_index    INTEGER,
    image_id       INTEGER REFERENCES images(id),
    image_offset   INTEGER,
    address        INTEGER,
    symbol         TEXT,
    symbol_offset  INTEGER,
    symbol_source  TEXT,
    source_file    TEXT,
    source_line    INTEGER,
    PRIMARY KEY (report_id, stack, idx)
) WITHOUT ROWID;
CREATE INDEX frames_image ON frames(image_id, image_offset);
CREATE INDEX frames_symbol ON frames(symbol);
