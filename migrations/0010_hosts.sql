-- 0010: hosts. Every round records the machine it ran on, and a round's identity becomes
-- (host, round number): two machines' round 1825 are two rounds (docs/FLEET.md). Reports
-- record the host that ingested them (the hardware model and OS they state are their own
-- columns already).
--
-- The rounds table is rebuilt because SQLite cannot drop the column constraint
-- `number UNIQUE` of 0003. Its child tables are rebuilt with it: with foreign keys on, dropping
-- a table deletes its rows first, which would cascade to children still pointing at it. The
-- new tables point at rounds_new, which the final rename turns into rounds in their
-- definitions too.
--
-- Rounds stored before this migration get host_id NULL here; the migrations runner then fills
-- in the local host (`src/store/migrations.rs`, `fill_round_hosts`): SQL cannot know which
-- machine it runs on. host_id stays nullable in the schema for that reason, but every round
-- written afterwards names its host.

-- A machine. `machine_id` is its stable identity (macOS IOPlatformUUID, Linux
-- /etc/machine-id) when known; `name` is what selectors use (`host:NAME`).
CREATE TABLE hosts (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    machine_id     TEXT UNIQUE,
    hardware_model TEXT,
    os             TEXT,
    first_seen     TEXT NOT NULL
);

CREATE TABLE rounds_new (
    id            INTEGER PRIMARY KEY,
    host_id       INTEGER REFERENCES hosts(id),
    number        INTEGER NOT NULL,
    batch         TEXT,
    fix_name      TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    efficiency    REAL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('raw-pass', 'eventual-pass', 'fail')),
    max_attempts  INTEGER,
    command       TEXT,
    metrics       TEXT,
    results       TEXT,
    source        TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    fix_confirmed INTEGER CHECK (fix_confirmed IN (0, 1)),
    output_tail   TEXT,
    UNIQUE (host_id, number)
);
INSERT INTO rounds_new (id, host_id, number, batch, fix_name, started_at, finished_at,
        efficiency, outcome, max_attempts, command, metrics, results, source, recorded_at,
        fix_confirmed, output_tail)
    SELECT id, NULL, number, batch, fix_name, started_at, finished_at, efficiency, outcome,
        max_attempts, command, metrics, results, source, recorded_at, fix_confirmed, output_tail
    FROM rounds;

CREATE TABLE round_config_new (
    round_id INTEGER NOT NULL REFERENCES rounds_new(id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (round_id, key)
) WITHOUT ROWID;
INSERT INTO round_config_new (round_id, key, value) SELECT round_id, key, value FROM round_config;

CREATE TABLE attempts_new (
    round_id    INTEGER NOT NULL REFERENCES rounds_new(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    exit_code   INTEGER,
    signal      INTEGER,
    pid         INTEGER,
    PRIMARY KEY (round_id, idx)
) WITHOUT ROWID;
INSERT INTO attempts_new (round_id, idx, started_at, finished_at, exit_code, signal, pid)
    SELECT round_id, idx, started_at, finished_at, exit_code, signal, pid FROM attempts;

CREATE TABLE attempt_reports_new (
    round_id    INTEGER NOT NULL REFERENCES rounds_new(id) ON DELETE CASCADE,
    attempt_idx INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    PRIMARY KEY (round_id, attempt_idx, incident_id)
) WITHOUT ROWID;
INSERT INTO attempt_reports_new (round_id, attempt_idx, incident_id)
    SELECT round_id, attempt_idx, incident_id FROM attempt_reports;

DROP TABLE attempt_reports;
DROP TABLE attempts;
DROP TABLE round_config;
DROP TABLE rounds;
ALTER TABLE rounds_new RENAME TO rounds;
ALTER TABLE round_config_new RENAME TO round_config;
ALTER TABLE attempts_new RENAME TO attempts;
ALTER TABLE attempt_reports_new RENAME TO attempt_reports;
CREATE INDEX rounds_batch ON rounds(batch);
CREATE INDEX rounds_fix ON rounds(fix_name);
CREATE INDEX rounds_number ON rounds(number);
CREATE INDEX attempt_reports_incident ON attempt_reports(incident_id);

-- The host that ingested a report (NULL: ingested before this migration, or unknown).
ALTER TABLE reports ADD COLUMN host_id INTEGER REFERENCES hosts(id);
