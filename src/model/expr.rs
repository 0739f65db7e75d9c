//! Match expressions as typed values (match-expressions §2–§9).
//!
//! The loader builds these only from well-formed input; anything malformed is
//! reported as a diagnostic and left out. The engine compiles them.

use crate::source::{Span, Spanned};

/// A list of expressions under an implicit `All` (`Detection`,
/// `InlineFilters`, `Expressions`, `Conditions`).
pub type ExprList = Vec<Expr>;

/// One match expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The mapping it was written as.
    pub span: Span,
    /// Its shape.
    pub kind: ExprKind,
}

/// The seven expression types plus combinators (match-expressions §3).
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `All`, `Any`, `OnlyOne`, `None`.
    Combinator {
        /// Which combinator.
        op: Combinator,
        /// Its operands.
        items: ExprList,
    },
    /// Type 1: key specifier, condition and one `Value`.
    KeyValue {
        /// What to look at.
        key: KeySpec,
        /// The condition (group V).
        condition: Spanned<Condition>,
        /// The comparand.
        value: Spanned<Scalar>,
    },
    /// Type 2: key specifier, `IsIn`/`IsNotIn` and `Values`.
    KeyValues {
        /// What to look at.
        key: KeySpec,
        /// `IsIn` or `IsNotIn`.
        condition: Spanned<Condition>,
        /// The list (all of one kind).
        values: Spanned<Vec<Scalar>>,
    },
    /// Type 3: two key specifiers compared with a single-value condition.
    MultiKey {
        /// The condition (group V).
        condition: Spanned<Condition>,
        /// Left operand (the target).
        left: KeySpec,
        /// Right operand (plays the role of `Value`).
        right: KeySpec,
    },
    /// Type 4: `AnyElement` & co. over an array.
    ListComprehension {
        /// The array.
        key: KeySpec,
        /// Group E.
        condition: Spanned<Condition>,
        /// Evaluated per element, implicit `All`.
        expressions: ExprList,
    },
    /// Type 5: a unary condition.
    Unary {
        /// What to look at.
        key: KeySpec,
        /// Group U.
        condition: Spanned<Condition>,
    },
    /// Type 6: `AlwaysTrue` / `AlwaysFalse`.
    Absolute(Spanned<Condition>),
    /// Type 7: a lookup-table enrichment value.
    Enrichment {
        /// Where in `p_enrichment`.
        enrichment: Enrichment,
        /// Group V with `Value`, `IsIn`/`IsNotIn` with `Values`.
        condition: Spanned<Condition>,
        /// The comparand(s).
        operand: Operand,
    },
}

/// The comparand of an enrichment expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `Value`.
    Value(Spanned<Scalar>),
    /// `Values`.
    Values(Spanned<Vec<Scalar>>),
}

/// `Enrichment: {Table, Selector, FieldPath}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrichment {
    /// Lookup table name (literal).
    pub table: Spanned<String>,
    /// Selector name (literal).
    pub selector: Spanned<String>,
    /// Path inside the row.
    pub field_path: KeyPath,
}

/// The four combinators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combinator {
    /// Logical AND.
    All,
    /// Logical OR.
    Any,
    /// Exactly one.
    OnlyOne,
    /// NOR.
    None,
}

impl Combinator {
    /// The YAML key.
    pub fn name(self) -> &'static str {
        match self {
            Combinator::All => "All",
            Combinator::Any => "Any",
            Combinator::OnlyOne => "OnlyOne",
            Combinator::None => "None",
        }
    }
}

/// A scalar comparand (`Value` or an item of `Values`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

/// `Key`, `DeepKey` or `KeyPath`.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySpec {
    /// A literal top-level member name.
    Key(Spanned<String>),
    /// A list of steps.
    DeepKey(Spanned<Vec<Step>>),
    /// A dotted path.
    KeyPath(KeyPath),
}

impl KeySpec {
    /// Where the specifier is written.
    pub fn span(&self) -> Span {
        match self {
            KeySpec::Key(k) => k.span,
            KeySpec::DeepKey(d) => d.span,
            KeySpec::KeyPath(p) => p.span,
        }
    }
}

/// A parsed `KeyPath` (match-expressions §2.3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPath {
    /// The text as written.
    pub text: String,
    /// The steps.
    pub steps: Vec<Step>,
    /// Where it is written.
    pub span: Span,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Member lookup (§2.4 rule).
    Member(String),
    /// Array index, negative from the end.
    Index(i64),
    /// `[*]`.
    Wildcard,
}

macro_rules! conditions {
    ($( $variant:ident = $name:literal, $group:ident, $filter:literal; )*) => {
        /// A condition name (match-expressions §4.1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Condition {
            $( #[doc = $name] $variant, )*
        }

        impl Condition {
            /// Every condition of the language (without deprecated aliases).
            pub const ALL: &'static [Condition] = &[$(Condition::$variant),*];

            /// The name as written in YAML.
            pub fn name(self) -> &'static str {
                match self { $(Condition::$variant => $name,)* }
            }

            /// Its group (§4.1).
            pub fn group(self) -> Group {
                match self { $(Condition::$variant => Group::$group,)* }
            }

            /// Whether `InlineFilters` allow it (§4.1 "Filter").
            pub fn allowed_in_filters(self) -> bool {
                match self { $(Condition::$variant => $filter,)* }
            }

            /// Looks a name up exactly (no aliases).
            pub fn from_name(name: &str) -> Option<Condition> {
                match name { $($name => Some(Condition::$variant),)* _ => None }
            }
        }
    };
}

conditions! {
    Equals = "Equals", V, true;
    DoesNotEqual = "DoesNotEqual", V, true;
    IEquals = "IEquals", V, true;
    IDoesNotEqual = "IDoesNotEqual", V, true;
    StartsWith = "StartsWith", V, true;
    DoesNotStartWith = "DoesNotStartWith", V, true;
    IStartsWith = "IStartsWith", V, true;
    IDoesNotStartWith = "IDoesNotStartWith", V, true;
    EndsWith = "EndsWith", V, true;
    DoesNotEndWith = "DoesNotEndWith", V, true;
    IEndsWith = "IEndsWith", V, true;
    IDoesNotEndWith = "IDoesNotEndWith", V, true;
    Contains = "Contains", V, true;
    DoesNotContain = "DoesNotContain", V, true;
    IContains = "IContains", V, true;
    IDoesNotContain = "IDoesNotContain", V, true;
    IsGreaterThan = "IsGreaterThan", V, true;
    IsGreaterThanOrEquals = "IsGreaterThanOrEquals", V, true;
    IsLessThan = "IsLessThan", V, true;
    IsLessThanOrEquals = "IsLessThanOrEquals", V, true;
    IsIPAddressInCIDR = "IsIPAddressInCIDR", V, true;
    IsIPAddressNotInCIDR = "IsIPAddressNotInCIDR", V, true;
    CIDRContainsIPAddresses = "CIDRContainsIPAddresses", V, true;
    CIDRDoesNotContainIPAddresses = "CIDRDoesNotContainIPAddresses", V, true;
    IsIn = "IsIn", L, true;
    IsNotIn = "IsNotIn", L, true;
    Exists = "Exists", U, false;
    DoesNotExist = "DoesNotExist", U, false;
    IsNull = "IsNull", U, false;
    IsNotNull = "IsNotNull", U, false;
    IsNullOrEmpty = "IsNullOrEmpty", U, true;
    IsNotNullOrEmpty = "IsNotNullOrEmpty", U, true;
    IsIPAddress = "IsIPAddress", U, false;
    IsIPv4Address = "IsIPv4Address", U, false;
    IsIPv6Address = "IsIPv6Address", U, false;
    IsIPAddressPrivate = "IsIPAddressPrivate", U, true;
    IsIPAddressPublic = "IsIPAddressPublic", U, true;
    AnyElement = "AnyElement", E, false;
    AllElements = "AllElements", E, false;
    OnlyOneElement = "OnlyOneElement", E, false;
    NoElement = "NoElement", E, false;
    AlwaysTrue = "AlwaysTrue", A, false;
    AlwaysFalse = "AlwaysFalse", A, false;
}

/// Condition groups (match-expressions §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Takes a single `Value`.
    V,
    /// Takes `Values`.
    L,
    /// Unary.
    U,
    /// Element conditions (list comprehension).
    E,
    /// Absolute.
    A,
}

impl Condition {
    /// Resolves a name, including the deprecated aliases `Has` and
    /// `DoesNotHave`; the flag says whether an alias was used.
    pub fn parse(name: &str) -> Option<(Condition, bool)> {
        match name {
            "Has" => Some((Condition::Contains, true)),
            "DoesNotHave" => Some((Condition::DoesNotContain, true)),
            _ => Condition::from_name(name).map(|c| (c, false)),
        }
    }

    /// Whether this is one of the unary IP conditions that tolerate a
    /// `Value` (match-expressions §3, `value-ignored`).
    pub fn is_unary_ip(self) -> bool {
        matches!(
            self,
            Condition::IsIPAddress
                | Condition::IsIPv4Address
                | Condition::IsIPv6Address
                | Condition::IsIPAddressPrivate
                | Condition::IsIPAddressPublic
        )
    }
}
