//! fixes (in progress).
