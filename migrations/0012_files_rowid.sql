-- 0012: `files` becomes an ordinary (rowid) table, its compressed original (`data`) the last
-- column. Same columns, same key, same rows.
--
-- Why (docs/BENCHMARKS.md, "The SQLite writer's I/O"): `files` was `WITHOUT ROWID`, so the
-- table itself was the B-tree on `hash` and every row's compressed original sat in it. Finding
-- a key compared whole records, and a record longer than a cell (every original stored before
-- the first dictionary) was read from its overflow pages on the way: each `has_file` lookup of
-- an ingest worker and each insert of the writer paid that, and random keys scattered the
-- inserts over the whole table. Now `hash` is a small index (key and row id only) and rows are
-- appended in insertion order.
--
-- `hash` says NOT NULL itself: in a rowid table SQLite lets a non-integer PRIMARY KEY hold NULL.
-- The runner applies migrations with foreign keys off and checks them before committing
-- (`src/store/migrations.rs`): `reports.file_hash` refers to `files`, and dropping the old table
-- with foreign keys on would first delete its rows under the reports.
CREATE TABLE files_new (
    hash        TEXT NOT NULL PRIMARY KEY,
    size        INTEGER NOT NULL,
    compression TEXT NOT NULL,           -- 'zstd'
    dict_id     INTEGER REFERENCES dictionaries(id),
    data        BLOB NOT NULL
);
INSERT INTO files_new (hash, size, compression, dict_id, data)
    SELECT hash, size, compression, dict_id, data FROM files;
DROP TABLE files;
ALTER TABLE files_new RENAME TO files;
