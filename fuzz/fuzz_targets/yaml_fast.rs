//! Fuzz target: the fast YAML path against the libyaml-safer path.
//!
//! Wherever the fast path reads a text, libyaml-safer must read it too and
//! build the same document (values, spans, duplicate keys, big integers);
//! declining is always allowed. Inputs that are not UTF-8 are skipped
//! (files are read as text before they reach the parser).

#![no_main]

use detect::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Some(fast) = yaml::parse_fast(text) else { return };
    match yaml::parse_libyaml(text) {
        Ok(slow) => {
            if let Some(d) = yaml::first_difference(&fast, &slow) {
                panic!("the fast path and libyaml-safer differ: {d}");
            }
        }
        Err(e) => panic!(
            "the fast path accepts a text libyaml-safer rejects: {} at {:?}",
            e.message, e.span
        ),
    }
});
