-- 0011: the hardware model and OS a round ran under, on the round itself. A host's model and
-- OS change (macOS updates; a merged older database describes a machine as it was), and a
-- writeup that breaks pass rates down by OS must count each round under the OS it ran on,
-- not the one its machine has today (docs/FLEET.md).
--
-- Rounds stored before this migration take their host's model and OS as stored now: the best
-- that is known of them.
ALTER TABLE rounds ADD COLUMN hardware_model TEXT;
ALTER TABLE rounds ADD COLUMN os TEXT;
UPDATE rounds SET
    hardware_model = (SELECT h.hardware_model FROM hosts h WHERE h.id = rounds.host_id),
    os = (SELECT h.os FROM hosts h WHERE h.id = rounds.host_id);
