//! Fuzz target: `detect fmt`'s layout on arbitrary text.
//!
//! Every input that parses is formatted (whether or not it is an analysis
//! file, so the fuzzer need not find `AnalysisType` first). Nothing may
//! panic; a changed text must parse to the same values and be left as it is
//! by a second pass (the guard inside `format` promises both; this checks
//! the promise from outside).

#![no_main]

use detect::fmt::{Formatted, format, same_document};
use detect::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(before) = yaml::parse(text) else { return };
    if let Formatted::Changed(out) = format(text, &before) {
        let after = yaml::parse(&out).expect("formatted text parses");
        assert!(same_document(&before, &after), "values changed:\n{text}\n---\n{out}");
        assert!(
            matches!(format(&out, &after), Formatted::Unchanged),
            "not idempotent:\n{out}"
        );
    }
});
