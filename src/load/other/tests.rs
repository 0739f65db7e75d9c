//! Tests of the non-rule loaders.
