//! `detect derive` on fixture repositories.
