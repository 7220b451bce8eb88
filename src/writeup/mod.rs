//! writeup (in progress).
