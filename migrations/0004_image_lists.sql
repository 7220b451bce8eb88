-- 0004: a report's image list is stored once per distinct list, not as one link row per image
-- per report; and the two frame indexes nothing queried are gone.
--
-- Why: a report lists a few hundred images (180-600 for a PyTorch process) and the reports of
-- one machine's stress suite list the same ones in the same order, so per-report links were
-- ~90% of the rows an ingest wrote (540,000 rows for 3,000 reports) and bounded its speed.
-- Load addresses differ per process; they stay in the stored original file, which `show`
-- re-parses.

-- One distinct ordered image list. `key` is the image ids in report order as a JSON array
-- without spaces ('[3,1,7]'), which SQL (below) and Rust (store/reports.rs) both write.
CREATE TABLE image_lists (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    image_count INTEGER NOT NULL
);

CREATE TABLE image_list_members (
    list_id     INTEGER NOT NULL REFERENCES image_lists(id),
    image_index INTEGER NOT NULL,
    image_id    INTEGER NOT NULL REFERENCES images(id),
    PRIMARY KEY (list_id, image_index)
) WITHOUT ROWID;
-- Every list holding an image: with images(uuid) and reports(image_list_id), every report that
-- loaded a given binary (a fix build, a driver version).
CREATE INDEX image_list_members_image ON image_list_members(image_id);

ALTER TABLE reports ADD COLUMN image_list_id INTEGER REFERENCES image_lists(id);
CREATE INDEX reports_image_list ON reports(image_list_id);

-- Carry over the links of databases written by migrations 1-3.
CREATE TEMP TABLE report_list AS
    SELECT report_id, json_group_array(image_id ORDER BY image_index) AS key, count(*) AS n
    FROM report_images GROUP BY report_id;
INSERT OR IGNORE INTO image_lists (key, image_count)
    SELECT key, n FROM report_list ORDER BY report_id;
INSERT INTO image_list_members (list_id, image_index, image_id)
    SELECT l.id, j.key, j.value FROM image_lists l, json_each(l.key) j;
UPDATE reports SET image_list_id = (
    SELECT l.id FROM report_list rl JOIN image_lists l ON l.key = rl.key
    WHERE rl.report_id = reports.id);
DROP TABLE report_list;
DROP TABLE report_images;

-- Unused: `reports --frame` globs every crashed frame in one scan, and nothing looks frames up
-- by image or symbol. Together they were a third of the remaining insert time.
DROP INDEX frames_image;
DROP INDEX frames_symbol;
