//! Legacy `.crash` text parser.
