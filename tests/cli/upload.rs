//! `detect upload` on fixture repositories.
