-- 0003: fix dylib versions, verification rounds with their attempts, and the links between
-- crash reports and both.

-- A registered build of the fix dylib.
CREATE TABLE fixes (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,          -- e.g. 'v2.3'
    path            TEXT,
    size            INTEGER,
    sha256          TEXT,
    md5             TEXT,
    install_name    TEXT,
    metadata        TEXT,                          -- JSON object from __DATA,__agx_fix_meta
    registered_at   TEXT NOT NULL
);

-- Every Mach-O slice of a fix build (a universal dylib has one per arch).
CREATE TABLE fix_slices (
    fix_id                INTEGER NOT NULL REFERENCES fixes(id) ON DELETE CASCADE,
    arch                  TEXT,
    uuid                  TEXT NOT NULL,
    current_version       TEXT,
    compatibility_version TEXT,
    PRIMARY KEY (fix_id, uuid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX fix_slices_uuid ON fix_slices(uuid);

-- A report whose usedImages holds a registered fix UUID is linked to that fix; failing that,
-- an image named libagx_fix* is noted by name as an unregistered fix.
ALTER TABLE reports ADD COLUMN fix_id INTEGER REFERENCES fixes(id);
ALTER TABLE reports ADD COLUMN unregistered_fix TEXT;
CREATE INDEX reports_fix ON reports(fix_id);

-- One verification round. `fix_name` NULL means native (no fix loaded). The name is kept as
-- given, so rounds imported before `fix add --name` registers the build join it afterwards.
CREATE TABLE rounds (
    id            INTEGER PRIMARY KEY,
    number        INTEGER NOT NULL UNIQUE,
    batch         TEXT,
    fix_name      TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    efficiency    REAL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('raw-pass', 'eventual-pass', 'fail')),
    max_attempts  INTEGER,
    command       TEXT,
    metrics       TEXT,                            -- JSON object name -> number
    results       TEXT,                            -- the suite's JSON results file, verbatim
    source        TEXT NOT NULL,                   -- 'run', 'record' or 'import'
    recorded_at   TEXT NOT NULL
);
CREATE INDEX rounds_batch ON rounds(batch);
CREATE INDEX rounds_fix ON rounds(fix_name);

-- Free key-value configuration of a round (threads, iterations, test, pytorch, macos ...).
CREATE TABLE round_config (
    round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (round_id, key)
) WITHOUT ROWID;

CREATE TABLE attempts (
    round_id    INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,                  -- 1-based
    started_at  TEXT,
    finished_at TEXT,
    exit_code   INTEGER,
    signal      INTEGER,
    pid         INTEGER,
    PRIMARY KEY (round_id, idx)
) WITHOUT ROWID;

-- Crash reports attributed to an attempt, by incident id (joined to reports.identity, which
-- is the upper-cased incident id), so a round may name reports not ingested yet.
CREATE TABLE attempt_reports (
    round_id    INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    attempt_idx INTEGER NOT NULL,
    incident_id TEXT NOT NULL,                     -- upper-case
    PRIMARY KEY (round_id, attempt_idx, incident_id)
) WITHOUT ROWID;
CREATE INDEX attempt_reports_incident ON attempt_reports(incident_id);
