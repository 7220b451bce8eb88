//! symbols (in progress).
