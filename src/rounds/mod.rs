//! rounds (in progress).
