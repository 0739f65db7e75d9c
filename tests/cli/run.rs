//! `detect run` on fixture repositories.
