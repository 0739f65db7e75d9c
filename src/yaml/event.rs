//! The events the tree builder consumes.
//!
//! Both parsers speak this one small language: the libyaml-safer path
//! converts libyaml's events into it, the fast path (`fast.rs`) emits it
//! directly. Typing, duplicate keys, merge keys, aliases and limits then
//! live in one place (`build.rs`) and cannot drift between the two.

use std::borrow::Cow;

/// One parse event. Its span travels beside it: for a collection start
/// only the start matters, for an end only the end.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// The start of a document (a second one is an error).
    DocumentStart,
    /// `[` or a block sequence.
    SequenceStart {
        /// `&name` written before it.
        anchor: Option<String>,
    },
    /// `{` or a block mapping.
    MappingStart {
        /// `&name` written before it.
        anchor: Option<String>,
    },
    /// The end of the innermost open sequence or mapping.
    End,
    /// A scalar.
    Scalar {
        /// Its text after folding and escapes.
        value: Cow<'a, str>,
        /// Typed by `resolve_plain` (a plain scalar without `!!str`);
        /// otherwise a string.
        typed: bool,
        /// `&name` written before it.
        anchor: Option<String>,
    },
    /// `*name`.
    Alias {
        /// The anchor it names.
        anchor: String,
    },
}
