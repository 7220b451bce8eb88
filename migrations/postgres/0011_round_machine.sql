-- 0011 (PostgreSQL twin of migrations/0011_round_machine.sql): the hardware model and OS a
-- round ran under, on the round itself; older rounds take their host's as stored now.
ALTER TABLE rounds ADD COLUMN hardware_model TEXT COLLATE "C";
ALTER TABLE rounds ADD COLUMN os TEXT COLLATE "C";
UPDATE rounds SET
    hardware_model = (SELECT h.hardware_model FROM hosts h WHERE h.id = rounds.host_id),
    os = (SELECT h.os FROM hosts h WHERE h.id = rounds.host_id);
