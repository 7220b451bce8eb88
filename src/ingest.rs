//! Ingest pipeline (in progress).
