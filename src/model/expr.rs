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
        /// Left operand (the target). Boxed, as is the right one, so that
        /// this rarer shape does not set the size of every expression.
        left: Box<KeySpec>,
        /// Right operand (plays the role of `Value`).
        right: Box<KeySpec>,
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
        /// Where in `p_enrichment` (boxed: a rare shape).
        enrichment: Box<Enrichment>,
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
    /// A string (inline up to 24 bytes).
    Str(compact_str::CompactString),
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
    pub text: compact_str::CompactString,
    /// The steps.
    pub steps: Vec<Step>,
    /// Where it is written.
    pub span: Span,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Member lookup (§2.4 rule). Inline up to 24 bytes, as most member
    /// names are: no allocation per step.
    Member(compact_str::CompactString),
    /// Array index, negative from the end.
    Index(i64),
    /// `[*]`.
    Wildcard,
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

/// What a condition takes as `Value` (the loader's value typing, §3 and
/// §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// A single `Value` of any scalar kind.
    Any,
    /// A single `Value` that must be a string, else `never-matches`.
    Text,
    /// A single `Value` that must be a number, else `never-matches`.
    Number,
    /// A single `Value` that must be a CIDR block as a string, else
    /// `invalid-value`.
    Cidr,
    /// `Values` (a list, all items of one kind).
    List,
    /// Nothing; a `Value` is an error.
    Nothing,
    /// Nothing, but a `Value` is tolerated and ignored (`value-ignored`).
    Ignored,
}

/// The positive test of a leaf, with negation factored out (R1). The
/// compiled evaluator and the reference interpreter each give every
/// variant its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// JSON equality.
    Equals,
    /// Case-insensitive equality for strings, else `Equals`.
    IEquals,
    /// String prefix.
    StartsWith,
    /// Case-insensitive prefix.
    IStartsWith,
    /// String suffix.
    EndsWith,
    /// Case-insensitive suffix.
    IEndsWith,
    /// Substring, array membership, member name.
    Contains,
    /// Case-insensitive `Contains`.
    IContains,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// Address or block inside the CIDR.
    InCidr,
    /// Some address of an array inside the CIDR.
    CidrContains,
    /// Membership in `Values`.
    In,
    /// Present (null counts).
    Exists,
    /// Absent or null.
    IsNull,
    /// Absent, null, `""`, `[]` or `{}`.
    IsNullOrEmpty,
    /// An IPv4 or IPv6 address.
    IsIp,
    /// An IPv4 address.
    IsV4,
    /// An IPv6 address.
    IsV6,
    /// In the private table.
    Private,
    /// Globally routable.
    Public,
}

/// How the compiler prepares a leaf's comparand once per rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prep {
    /// The value as JSON.
    Json,
    /// The value as JSON and, for a string, lowercased (`I…` conditions).
    Fold,
    /// The value parsed as a CIDR block.
    Cidr,
    /// `Values` as a set.
    Set,
    /// No comparand.
    Nothing,
}

impl Base {
    /// How its comparand is prepared.
    pub fn prep(self) -> Prep {
        match self {
            Base::Equals | Base::StartsWith | Base::EndsWith | Base::Contains => Prep::Json,
            Base::Gt | Base::Ge | Base::Lt | Base::Le => Prep::Json,
            Base::IEquals | Base::IStartsWith | Base::IEndsWith | Base::IContains => Prep::Fold,
            Base::InCidr | Base::CidrContains => Prep::Cidr,
            Base::In => Prep::Set,
            Base::Exists | Base::IsNull | Base::IsNullOrEmpty => Prep::Nothing,
            Base::IsIp | Base::IsV4 | Base::IsV6 | Base::Private | Base::Public => Prep::Nothing,
        }
    }

    /// Whether absent and null are decided by the condition itself (§4.8)
    /// rather than by rule R2.
    pub fn is_null_aware(self) -> bool {
        match self {
            Base::Exists | Base::IsNull | Base::IsNullOrEmpty => true,
            Base::Equals | Base::IEquals | Base::StartsWith | Base::IStartsWith | Base::EndsWith => false,
            Base::IEndsWith | Base::Contains | Base::IContains | Base::Gt | Base::Ge | Base::Lt => false,
            Base::Le | Base::InCidr | Base::CidrContains | Base::In => false,
            Base::IsIp | Base::IsV4 | Base::IsV6 | Base::Private | Base::Public => false,
        }
    }
}

/// Quantifier of a list comprehension (§8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// At least one.
    Any,
    /// All.
    All,
    /// Exactly one.
    One,
    /// None.
    No,
}

/// What a condition does once compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantics {
    /// A leaf test: a positive base, possibly negated (R1).
    Test(Base, bool),
    /// A list comprehension (group E).
    Each(Quant),
    /// A constant (group A).
    Const(bool),
}

/// Everything the model, the loader and the compiler know about one
/// condition: one row of the table below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// The condition.
    pub condition: Condition,
    /// The name as written in YAML.
    pub name: &'static str,
    /// Its group (§4.1): which expression shapes it stands in.
    pub group: Group,
    /// What it takes as `Value`/`Values`.
    pub takes: Takes,
    /// Whether `InlineFilters` allow it (§4.1 "Filter").
    pub in_filters: bool,
    /// What it compiles to.
    pub semantics: Semantics,
}

macro_rules! conditions {
    ($( $variant:ident = $group:ident, $takes:ident, $filter:literal, $sem:expr; )*) => {
        /// A condition name (match-expressions §4.1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Condition {
            $( #[doc = stringify!($variant)] $variant, )*
        }

        /// The condition table, in the order of match-expressions §4.1.
        pub const DESCRIPTORS: &[Descriptor] = &[$(Descriptor {
            condition: Condition::$variant,
            name: stringify!($variant),
            group: Group::$group,
            takes: Takes::$takes,
            in_filters: $filter,
            semantics: $sem,
        }),*];

        impl Condition {
            /// Every condition of the language (without deprecated aliases).
            pub const ALL: &'static [Condition] = &[$(Condition::$variant),*];

            /// Its row of the table.
            pub fn descriptor(self) -> &'static Descriptor {
                // The table lists the variants in declaration order.
                &DESCRIPTORS[self as usize]
            }
        }
    };
}

use Base as B;
use Semantics::{Const, Each, Test};

// A row: the variant (its name in YAML), the group, what it takes, whether
// `InlineFilters` allow it, what it compiles to (`Test(base, negated)`).
conditions! {
    Equals = V, Any, true, Test(B::Equals, false);
    DoesNotEqual = V, Any, true, Test(B::Equals, true);
    IEquals = V, Any, true, Test(B::IEquals, false);
    IDoesNotEqual = V, Any, true, Test(B::IEquals, true);
    StartsWith = V, Text, true, Test(B::StartsWith, false);
    DoesNotStartWith = V, Text, true, Test(B::StartsWith, true);
    IStartsWith = V, Text, true, Test(B::IStartsWith, false);
    IDoesNotStartWith = V, Text, true, Test(B::IStartsWith, true);
    EndsWith = V, Text, true, Test(B::EndsWith, false);
    DoesNotEndWith = V, Text, true, Test(B::EndsWith, true);
    IEndsWith = V, Text, true, Test(B::IEndsWith, false);
    IDoesNotEndWith = V, Text, true, Test(B::IEndsWith, true);
    Contains = V, Any, true, Test(B::Contains, false);
    DoesNotContain = V, Any, true, Test(B::Contains, true);
    IContains = V, Any, true, Test(B::IContains, false);
    IDoesNotContain = V, Any, true, Test(B::IContains, true);
    IsGreaterThan = V, Number, true, Test(B::Gt, false);
    IsGreaterThanOrEquals = V, Number, true, Test(B::Ge, false);
    IsLessThan = V, Number, true, Test(B::Lt, false);
    IsLessThanOrEquals = V, Number, true, Test(B::Le, false);
    IsIPAddressInCIDR = V, Cidr, true, Test(B::InCidr, false);
    IsIPAddressNotInCIDR = V, Cidr, true, Test(B::InCidr, true);
    CIDRContainsIPAddresses = V, Cidr, true, Test(B::CidrContains, false);
    CIDRDoesNotContainIPAddresses = V, Cidr, true, Test(B::CidrContains, true);
    IsIn = L, List, true, Test(B::In, false);
    IsNotIn = L, List, true, Test(B::In, true);
    Exists = U, Nothing, false, Test(B::Exists, false);
    DoesNotExist = U, Nothing, false, Test(B::Exists, true);
    IsNull = U, Nothing, false, Test(B::IsNull, false);
    IsNotNull = U, Nothing, false, Test(B::IsNull, true);
    IsNullOrEmpty = U, Nothing, true, Test(B::IsNullOrEmpty, false);
    IsNotNullOrEmpty = U, Nothing, true, Test(B::IsNullOrEmpty, true);
    IsIPAddress = U, Ignored, false, Test(B::IsIp, false);
    IsIPv4Address = U, Ignored, false, Test(B::IsV4, false);
    IsIPv6Address = U, Ignored, false, Test(B::IsV6, false);
    IsIPAddressPrivate = U, Ignored, true, Test(B::Private, false);
    IsIPAddressPublic = U, Ignored, true, Test(B::Public, false);
    AnyElement = E, Nothing, false, Each(Quant::Any);
    AllElements = E, Nothing, false, Each(Quant::All);
    OnlyOneElement = E, Nothing, false, Each(Quant::One);
    NoElement = E, Nothing, false, Each(Quant::No);
    AlwaysTrue = A, Nothing, false, Const(true);
    AlwaysFalse = A, Nothing, false, Const(false);
}

impl Condition {
    /// The name as written in YAML.
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// Its group (§4.1).
    pub fn group(self) -> Group {
        self.descriptor().group
    }

    /// Whether `InlineFilters` allow it (§4.1 "Filter").
    pub fn allowed_in_filters(self) -> bool {
        self.descriptor().in_filters
    }

    /// What it takes as `Value`/`Values`.
    pub fn takes(self) -> Takes {
        self.descriptor().takes
    }

    /// What it compiles to.
    pub fn semantics(self) -> Semantics {
        self.descriptor().semantics
    }

    /// Looks a name up exactly (no aliases).
    pub fn from_name(name: &str) -> Option<Condition> {
        DESCRIPTORS.iter().find(|d| d.name == name).map(|d| d.condition)
    }
}

/// Deprecated condition names that still resolve, with their condition.
pub const DEPRECATED_ALIASES: &[(&str, Condition)] =
    &[("Has", Condition::Contains), ("DoesNotHave", Condition::DoesNotContain)];

impl Condition {
    /// Resolves a name, including the [`DEPRECATED_ALIASES`] `Has` and
    /// `DoesNotHave`; the flag says whether an alias was used.
    pub fn parse(name: &str) -> Option<(Condition, bool)> {
        match DEPRECATED_ALIASES.iter().find(|(alias, _)| *alias == name) {
            Some((_, c)) => Some((*c, true)),
            None => Condition::from_name(name).map(|c| (c, false)),
        }
    }

    /// Whether this is one of the unary IP conditions that tolerate a
    /// `Value` (match-expressions §3, `value-ignored`).
    pub fn is_unary_ip(self) -> bool {
        self.takes() == Takes::Ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is indexed by the variant, so its order must be the
    /// declaration order; names are unique and resolve back.
    #[test]
    fn the_table_is_indexed_by_condition_and_names_resolve() {
        assert_eq!(DESCRIPTORS.len(), Condition::ALL.len());
        for (i, d) in DESCRIPTORS.iter().enumerate() {
            assert_eq!(d.condition as usize, i, "{}", d.name);
            assert_eq!(Condition::ALL[i], d.condition);
            assert_eq!(Condition::from_name(d.name), Some(d.condition), "{}", d.name);
            assert_eq!(d.condition.descriptor(), d);
        }
        assert_eq!(Condition::from_name("Has"), None);
        assert_eq!(Condition::parse("Has"), Some((Condition::Contains, true)));
    }

    /// Each row's columns agree with each other: the group decides the
    /// shape, so it must agree with what the condition takes and compiles
    /// to. A new row that mixes them up fails here with its name.
    #[test]
    fn every_row_is_consistent() {
        for d in DESCRIPTORS {
            let n = d.name;
            match (d.group, d.semantics) {
                (Group::V, Semantics::Test(base, _)) => {
                    assert!(
                        matches!(d.takes, Takes::Any | Takes::Text | Takes::Number | Takes::Cidr),
                        "{n}"
                    );
                    assert_eq!(
                        d.takes == Takes::Cidr,
                        base.prep() == Prep::Cidr,
                        "{n}: CIDR value and prep"
                    );
                    assert!(matches!(base.prep(), Prep::Json | Prep::Fold | Prep::Cidr), "{n}: prep");
                    assert!(!base.is_null_aware(), "{n}");
                }
                (Group::L, Semantics::Test(base, _)) => {
                    assert_eq!(d.takes, Takes::List, "{n}");
                    assert_eq!(base.prep(), Prep::Set, "{n}");
                }
                (Group::U, Semantics::Test(base, _)) => {
                    assert!(matches!(d.takes, Takes::Nothing | Takes::Ignored), "{n}");
                    assert_eq!(base.prep(), Prep::Nothing, "{n}");
                }
                (Group::E, Semantics::Each(_)) | (Group::A, Semantics::Const(_)) => {
                    assert_eq!(d.takes, Takes::Nothing, "{n}");
                    assert!(
                        !d.in_filters,
                        "{n}: InlineFilters allow no element or absolute condition"
                    );
                }
                (g, s) => panic!("{n}: group {g:?} cannot compile to {s:?}"),
            }
        }
    }

    /// No two conditions mean the same, and a negated condition has its
    /// positive form in the table, with the same group and value typing.
    #[test]
    fn semantics_are_unique_and_negations_have_a_positive_form() {
        for (i, a) in DESCRIPTORS.iter().enumerate() {
            for b in &DESCRIPTORS[i + 1..] {
                assert_ne!(a.semantics, b.semantics, "{} and {}", a.name, b.name);
            }
            if let Semantics::Test(base, true) = a.semantics {
                let positive = DESCRIPTORS
                    .iter()
                    .find(|p| p.semantics == Semantics::Test(base, false))
                    .unwrap_or_else(|| panic!("{} has no positive form", a.name));
                assert_eq!((positive.group, positive.takes), (a.group, a.takes), "{}", a.name);
                assert_eq!(positive.in_filters, a.in_filters, "{}", a.name);
            }
        }
    }

    /// The user documentation names every positive condition (negated ones
    /// are covered by the `DoesNot…` rule there).
    #[test]
    fn every_positive_condition_is_documented() {
        let doc = include_str!("../../docs/match-expressions.md");
        for d in DESCRIPTORS {
            if !matches!(d.semantics, Semantics::Test(_, true)) {
                assert!(
                    doc.contains(&format!("`{}`", d.name)),
                    "docs/match-expressions.md does not mention `{}`",
                    d.name
                );
            }
        }
    }
}
