//! bucket (in progress).
