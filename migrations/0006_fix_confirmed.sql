-- 0006: whether a round's fix confirmed it loaded (the fix handshake, docs/ROUNDS.md).
--
-- Why: DYLD_INSERT_LIBRARIES is silently dropped for SIP-protected and hardened-runtime
-- programs, so a round labelled with a fix may have run without it. `round run` now asks the
-- fix to write a handshake line per process and records here whether every attempt confirmed.
--
-- 1 = confirmed, 0 = not confirmed (left out of comparisons and writeups by default), NULL =
-- not known: native rounds, rounds recorded by hand or imported without `fix_confirmed`, and
-- every round stored before this migration. NULL rounds count, as they always did.
ALTER TABLE rounds ADD COLUMN fix_confirmed INTEGER CHECK (fix_confirmed IN (0, 1));
