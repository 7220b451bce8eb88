-- 0005: zstd dictionaries for the stored originals.
--
-- A dictionary is raw content (whole reports sampled at ingest, see docs/DATA_MODEL.md): the
-- reports of one stress suite differ in a few fields, so against a dictionary holding one of
-- them a copy compresses to tens of bytes instead of ~20% of its size. Dictionaries are never
-- changed or deleted: a new one gets a new id, and every file names the one it was compressed
-- with, so files compressed with any earlier dictionary (or none) stay readable.
CREATE TABLE dictionaries (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,       -- 'zstd-raw': raw-content zstd dictionary
    size       INTEGER NOT NULL,    -- bytes of the dictionary itself
    data       BLOB NOT NULL,       -- the dictionary, zstd-compressed (without a dictionary)
    created_at TEXT NOT NULL
);

-- NULL: compressed without a dictionary (every file stored before this migration).
ALTER TABLE files ADD COLUMN dict_id INTEGER REFERENCES dictionaries(id);
