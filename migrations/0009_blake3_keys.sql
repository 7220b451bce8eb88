-- 0009: original files are keyed by the BLAKE3 hash of their bytes instead of SHA-256.
--
-- BLAKE3 keeps the promise of the key (two files share a key only if their bytes are equal) at a
-- fraction of SHA-256's cost on the ingest path. The columns are renamed so that no name says
-- sha256 of a value that is not one. The keys themselves are recomputed from the stored
-- originals by the migrations runner right after this file (`src/store/migrations.rs`,
-- `rekey_files`): SQL cannot hash, and a file ingested before this migration must deduplicate
-- against the same bytes ingested after it.
ALTER TABLE files RENAME COLUMN sha256 TO hash;
ALTER TABLE reports RENAME COLUMN file_sha256 TO file_hash;
ALTER TABLE sources RENAME COLUMN file_sha256 TO file_hash;
