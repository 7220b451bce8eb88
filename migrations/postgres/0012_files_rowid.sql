-- 0012 (PostgreSQL twin of migrations/0012_files_rowid.sql): nothing to change. SQLite's
-- `files` became a rowid table so that a key lookup no longer reads the compressed originals;
-- PostgreSQL keeps large values out of line (TOAST) and its primary key is an index beside the
-- table already. The version still moves to 12 with SQLite's.
SELECT 1;
