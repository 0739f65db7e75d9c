//! Tests of the match-expression loader.

use super::*;
use crate::load::LoadOptions;
use crate::model::{Scalar, Step};
use crate::source::FileId;

fn parse(text: &str) -> Node {
    crate::yaml::parse(text).unwrap().root.unwrap()
}

/// Loads `text` as a one-item list in `context`; returns the list and
/// the diagnostics.
fn run_in(context: ExprContext, text: &str) -> (Option<ExprList>, Vec<crate::diagnostic::Diagnostic>) {
    let node = parse(&format!("- {text}"));
    let mut cx = Cx::new(FileId(0), LoadOptions::default());
    let list = expr_list(&mut cx, &node, "Detection", context);
    (list, cx.diags)
}

fn codes_in(context: ExprContext, text: &str) -> Vec<&'static str> {
    run_in(context, text).1.iter().map(|d| d.code.name()).collect()
}

fn codes(text: &str) -> Vec<&'static str> {
    codes_in(ExprContext::Detection, text)
}

/// The single expression of a valid snippet.
fn one(text: &str) -> Expr {
    let (list, diags) = run_in(ExprContext::Detection, text);
    assert!(diags.is_empty(), "{diags:#?}");
    let mut list = list.unwrap();
    assert_eq!(list.len(), 1);
    list.remove(0)
}

#[test]
fn val_01_two_key_specifiers() {
    assert_eq!(codes("{Key: a, KeyPath: b, Condition: Exists}"), ["exclusive-keys"]);
}

#[test]
fn val_02_isin_with_value() {
    assert_eq!(codes("{KeyPath: a, Condition: IsIn, Value: x}"), ["condition-shape"]);
}

#[test]
fn val_03_contains_with_values() {
    assert_eq!(
        codes("{KeyPath: a, Condition: Contains, Values: [x, y]}"),
        ["condition-shape"]
    );
}

#[test]
fn val_04_missing_value() {
    assert_eq!(codes("{KeyPath: a, Condition: Equals}"), ["condition-shape"]);
}

#[test]
fn val_05_wrong_case_condition_suggests_name() {
    let (_, diags) = run_in(ExprContext::Detection, "{KeyPath: a, Condition: equals, Value: x}");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.name(), "unknown-condition");
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `Equals`?"));
}

#[test]
fn val_06_or_equal_spelling_suggests_or_equals() {
    let (_, diags) = run_in(
        ExprContext::Detection,
        "{KeyPath: a, Condition: IsGreaterThanOrEqual, Value: 1}",
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.name(), "unknown-condition");
    assert_eq!(diags[0].help.as_deref(), Some("did you mean `IsGreaterThanOrEquals`?"));
}

#[test]
fn val_07_null_value() {
    assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: null}"), ["wrong-type"]);
}

#[test]
fn val_08_list_value() {
    assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: [1, 2]}"), ["wrong-type"]);
}

#[test]
fn val_09_mixed_values() {
    assert_eq!(
        codes("{KeyPath: a, Condition: IsIn, Values: [1, \"one\"]}"),
        ["mixed-values"]
    );
}

#[test]
fn val_10_three_keys_in_multi_key() {
    assert_eq!(
        codes("{Condition: Equals, Values: [{Key: a}, {Key: b}, {Key: c}]}"),
        ["multi-key-arity"]
    );
}

#[test]
fn val_11_isin_in_multi_key() {
    assert_eq!(
        codes("{Condition: IsIn, Values: [{Key: a}, {Key: b}]}"),
        ["condition-shape"]
    );
}

#[test]
fn val_12_empty_segment() {
    assert_eq!(codes("{KeyPath: \"a..b\", Condition: Exists}"), ["invalid-key-path"]);
}

#[test]
fn val_13_bad_selector() {
    assert_eq!(codes("{KeyPath: \"a[x]\", Condition: Exists}"), ["invalid-key-path"]);
}

#[test]
fn val_14_path_starts_with_selector() {
    assert_eq!(codes("{KeyPath: \"[0].a\", Condition: Exists}"), ["invalid-key-path"]);
}

#[test]
fn val_15_empty_deep_key() {
    assert_eq!(codes("{DeepKey: [], Condition: Exists}"), ["invalid-deep-key"]);
}

#[test]
fn val_16_boolean_deep_key_step() {
    assert_eq!(codes("{DeepKey: [a, true], Condition: Exists}"), ["invalid-deep-key"]);
}

#[test]
fn val_17_element_condition_without_expressions() {
    assert_eq!(codes("{KeyPath: a, Condition: AnyElement}"), ["condition-shape"]);
}

#[test]
fn val_18_empty_expressions() {
    assert_eq!(
        codes("{KeyPath: a, Condition: AnyElement, Expressions: []}"),
        ["invalid-value"]
    );
}

#[test]
fn val_19_absolute_with_key() {
    assert_eq!(codes("{Condition: AlwaysTrue, KeyPath: a}"), ["condition-shape"]);
}

#[test]
fn val_20_two_combinators() {
    assert_eq!(
        codes("{All: [{Condition: AlwaysTrue}], Any: [{Condition: AlwaysTrue}]}"),
        ["exclusive-keys"]
    );
}

#[test]
fn val_21_invalid_cidr() {
    assert_eq!(
        codes("{KeyPath: ip, Condition: IsIPAddressInCIDR, Value: \"10.0.0.0/33\"}"),
        ["invalid-value"]
    );
}

#[test]
fn val_22_unknown_key() {
    assert_eq!(
        codes("{KeyPath: a, Condition: Equals, Value: x, Extra: y}"),
        ["unknown-key"]
    );
}

#[test]
fn val_23_enrichment_without_value() {
    assert_eq!(
        codes("{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Exists}"),
        ["condition-shape"]
    );
}

#[test]
fn val_24_key_in_filters() {
    assert_eq!(
        codes_in(ExprContext::InlineFilters, "{Key: a, Condition: Equals, Value: x}"),
        ["inline-filter-restriction"]
    );
}

#[test]
fn val_25_exists_in_filters() {
    assert_eq!(
        codes_in(ExprContext::InlineFilters, "{KeyPath: a, Condition: Exists}"),
        ["inline-filter-restriction"]
    );
}

#[test]
fn val_26_only_one_in_filters() {
    assert_eq!(
        codes_in(
            ExprContext::InlineFilters,
            "{OnlyOne: [{KeyPath: a, Condition: Equals, Value: x}]}"
        ),
        ["inline-filter-restriction"]
    );
}

#[test]
fn val_27_absolute_in_filters() {
    assert_eq!(
        codes_in(ExprContext::InlineFilters, "{Condition: AlwaysTrue}"),
        ["inline-filter-restriction"]
    );
}

#[test]
fn val_28_combinator_in_severity_conditions() {
    assert_eq!(
        codes_in(
            ExprContext::DynamicSeverity,
            "{Any: [{KeyPath: a, Condition: Equals, Value: x}]}"
        ),
        ["dynamic-severity-restriction"]
    );
}

#[test]
fn val_29_list_comprehension_in_severity_conditions() {
    assert_eq!(
        codes_in(
            ExprContext::DynamicSeverity,
            "{KeyPath: a, Condition: AnyElement, Expressions: [{Condition: AlwaysTrue}]}"
        ),
        ["dynamic-severity-restriction"]
    );
}

#[test]
fn val_30_has_is_deprecated_alias_of_contains() {
    let (list, diags) = run_in(ExprContext::Detection, "{KeyPath: a, Condition: Has, Value: x}");
    assert_eq!(
        diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
        ["deprecated-condition"]
    );
    let list = list.unwrap();
    let ExprKind::KeyValue { condition, .. } = &list[0].kind else {
        panic!("{list:?}")
    };
    assert_eq!(condition.value, Condition::Contains);
}

#[test]
fn val_31_value_on_unary_ip_condition_is_ignored() {
    let (list, diags) = run_in(
        ExprContext::Detection,
        "{KeyPath: ip, Condition: IsIPAddressPrivate, Value: true}",
    );
    assert_eq!(
        diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
        ["value-ignored"]
    );
    let list = list.unwrap();
    assert!(matches!(list[0].kind, ExprKind::Unary { .. }), "{list:?}");
}

#[test]
fn val_32_starts_with_number_never_matches() {
    assert_eq!(
        codes("{KeyPath: a, Condition: StartsWith, Value: 5}"),
        ["never-matches"]
    );
}

#[test]
fn val_33_empty_values_list_is_valid() {
    let e = one("{KeyPath: a, Condition: IsIn, Values: []}");
    assert!(matches!(e.kind, ExprKind::KeyValues { .. }));
}

#[test]
fn val_34_empty_key() {
    assert_eq!(codes("{Key: \"\", Condition: Exists}"), ["invalid-key-path"]);
}

#[test]
fn key_value_parses() {
    let e = one("{KeyPath: 'fleet.ships[0].name', Condition: Equals, Value: Osprey}");
    let ExprKind::KeyValue { key, condition, value } = e.kind else {
        panic!()
    };
    assert_eq!(condition.value, Condition::Equals);
    assert_eq!(value.value, Scalar::Str("Osprey".into()));
    let KeySpec::KeyPath(p) = key else { panic!() };
    assert_eq!(
        p.steps,
        [
            Step::Member("fleet".into()),
            Step::Member("ships".into()),
            Step::Index(0),
            Step::Member("name".into())
        ]
    );
}

#[test]
fn key_values_parses() {
    let e = one("{Key: user, Condition: IsNotIn, Values: [root, admin]}");
    let ExprKind::KeyValues { key, values, .. } = e.kind else {
        panic!()
    };
    assert!(matches!(key, KeySpec::Key(k) if k.value == "user"));
    assert_eq!(values.value, [Scalar::Str("root".into()), Scalar::Str("admin".into())]);
}

#[test]
fn multi_key_parses() {
    let e = one("{Condition: StartsWith, Values: [{Key: path}, {DeepKey: [user, home]}]}");
    let ExprKind::MultiKey { left, right, .. } = e.kind else {
        panic!()
    };
    assert!(matches!(*left, KeySpec::Key(_)));
    let KeySpec::DeepKey(d) = *right else { panic!() };
    assert_eq!(d.value, [Step::Member("user".into()), Step::Member("home".into())]);
}

#[test]
fn list_comprehension_parses_with_nested_combinator() {
    let e = one(
        "{KeyPath: keys, Condition: AnyElement, Expressions: [{Any: [{Key: algo, Condition: Equals, Value: dsa}, {Key: age, Condition: IsGreaterThan, Value: 365}]}]}",
    );
    let ExprKind::ListComprehension {
        expressions, condition, ..
    } = e.kind
    else {
        panic!()
    };
    assert_eq!(condition.value, Condition::AnyElement);
    assert!(matches!(
        &expressions[0].kind,
        ExprKind::Combinator { op: Combinator::Any, items } if items.len() == 2
    ));
}

#[test]
fn unary_parses() {
    let e = one("{DeepKey: [items, -1, id], Condition: Exists}");
    let ExprKind::Unary {
        key: KeySpec::DeepKey(d),
        ..
    } = e.kind
    else {
        panic!()
    };
    assert_eq!(d.value[1], Step::Index(-1));
}

#[test]
fn absolute_parses() {
    let e = one("{Condition: AlwaysFalse}");
    assert!(matches!(e.kind, ExprKind::Absolute(c) if c.value == Condition::AlwaysFalse));
}

#[test]
fn enrichment_parses() {
    let e = one("{Enrichment: {Table: geo, Selector: ip, FieldPath: owner.team}, Condition: IsIn, Values: [a, b]}");
    let ExprKind::Enrichment {
        enrichment, operand, ..
    } = e.kind
    else {
        panic!()
    };
    assert_eq!(enrichment.table.value, "geo");
    assert_eq!(enrichment.field_path.steps.len(), 2);
    assert!(matches!(operand, Operand::Values(v) if v.value.len() == 2));
}

#[test]
fn nested_combinators_parse() {
    let e = one("{All: [{KeyPath: a, Condition: Equals, Value: 1}, {None: [{KeyPath: b, Condition: DoesNotExist}]}]}");
    let ExprKind::Combinator {
        op: Combinator::All,
        items,
    } = e.kind
    else {
        panic!()
    };
    assert!(matches!(
        &items[1].kind,
        ExprKind::Combinator {
            op: Combinator::None,
            ..
        }
    ));
}

#[test]
fn invalid_item_is_left_out_and_the_rest_kept() {
    let node = parse("- {KeyPath: a, Condition: Exists}\n- {KeyPath: b, Condition: Nope}\n");
    let mut cx = Cx::new(FileId(0), LoadOptions::default());
    let list = expr_list(&mut cx, &node, "Detection", ExprContext::Detection).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(cx.diags.len(), 1);
}

#[test]
fn combinator_with_invalid_child_is_left_out() {
    let (list, diags) = run_in(
        ExprContext::Detection,
        "{Any: [{KeyPath: a, Condition: Exists}, {Condition: Foo}]}",
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(list.unwrap().is_empty());
}

#[test]
fn empty_group_warns_in_detection_only() {
    assert_eq!(codes("{Any: []}"), ["empty-group"]);
    assert!(codes_in(ExprContext::InlineFilters, "{All: []}").is_empty());
    let (list, _) = run_in(ExprContext::Detection, "{All: []}");
    assert_eq!(list.unwrap().len(), 1);
}

#[test]
fn correlation_group_is_not_an_expression() {
    assert_eq!(
        codes("{Group: [{ID: a, RuleID: x}], MinMatchCount: 2}"),
        ["invalid-expression"]
    );
}

#[test]
fn scalar_item_is_not_an_expression() {
    assert_eq!(codes("Equals"), ["invalid-expression"]);
}

#[test]
fn misspelt_keys_are_invalid_expression_with_suggestion() {
    let (_, diags) = run_in(ExprContext::Detection, "{Condtion: Exists, Keypath: a}");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code.name(), "invalid-expression");
    assert!(diags[0].help.as_deref().unwrap().contains("`Condition`"), "{diags:#?}");
}

#[test]
fn missing_condition() {
    assert_eq!(codes("{KeyPath: a, Value: x}"), ["missing-key"]);
}

#[test]
fn every_problem_of_one_expression_is_reported() {
    let mut got = codes("{Key: 5, Condition: Bogus, Value: .nan, Extra: 1}");
    got.sort_unstable();
    assert_eq!(got, ["invalid-value", "unknown-condition", "unknown-key", "wrong-type"]);
}

#[test]
fn non_finite_values_are_invalid() {
    assert_eq!(codes("{KeyPath: a, Condition: Equals, Value: .inf}"), ["invalid-value"]);
    assert_eq!(
        codes("{KeyPath: a, Condition: IsIn, Values: [1, .nan]}"),
        ["invalid-value"]
    );
}

#[test]
fn comparison_with_string_never_matches() {
    assert_eq!(
        codes("{KeyPath: n, Condition: IsGreaterThan, Value: '5'}"),
        ["never-matches"]
    );
    assert!(codes("{KeyPath: n, Condition: IsGreaterThan, Value: 5.5}").is_empty());
}

#[test]
fn cidr_values() {
    for ok in [
        "10.0.0.0/8",
        "192.168.1.77/24",
        "8.8.8.8",
        "2001:db8::/32",
        "10.0.0.0/255.0.0.0",
    ] {
        assert!(
            codes(&format!(
                "{{KeyPath: ip, Condition: IsIPAddressNotInCIDR, Value: '{ok}'}}"
            ))
            .is_empty(),
            "{ok}"
        );
    }
    assert_eq!(
        codes("{KeyPath: ip, Condition: CIDRContainsIPAddresses, Value: 10}"),
        ["invalid-value"]
    );
    assert_eq!(
        codes("{KeyPath: ip, Condition: IsIPAddressInCIDR, Value: 'not an ip'}"),
        ["invalid-value"]
    );
}

#[test]
fn value_on_other_unary_condition_is_a_shape_error() {
    assert_eq!(codes("{KeyPath: a, Condition: Exists, Value: x}"), ["condition-shape"]);
}

#[test]
fn missing_key_specifier() {
    assert_eq!(codes("{Condition: Equals, Value: x}"), ["condition-shape"]);
    assert_eq!(codes("{Condition: IsIn, Values: [a, b]}"), ["condition-shape"]);
}

#[test]
fn multi_key_with_enrichment_item() {
    assert_eq!(
        codes("{Condition: Equals, Values: [{Key: a}, {Enrichment: {Table: t, Selector: s, FieldPath: f}}]}"),
        ["multi-key-arity"]
    );
}

#[test]
fn integer_step_in_list_comprehension_deep_key_warns() {
    assert_eq!(
        codes("{DeepKey: [groups, 0, members], Condition: AnyElement, Expressions: [{Key: r, Condition: Exists}]}"),
        ["pat-incompatible"]
    );
    // Integer steps elsewhere are fine.
    assert!(codes("{DeepKey: [a, 0], Condition: Exists}").is_empty());
}

#[test]
fn filters_accept_their_subset() {
    for text in [
        "{KeyPath: a, Condition: Equals, Value: x}",
        "{KeyPath: a, Condition: IsNullOrEmpty}",
        "{Any: [{KeyPath: a, Condition: IsIn, Values: [1, 2]}, {All: []}]}",
        "{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Equals, Value: x}",
    ] {
        assert!(codes_in(ExprContext::InlineFilters, text).is_empty(), "{text}");
    }
}

#[test]
fn filters_reject_shapes() {
    assert_eq!(
        codes_in(
            ExprContext::InlineFilters,
            "{Condition: Equals, Values: [{KeyPath: a}, {KeyPath: b}]}"
        ),
        ["inline-filter-restriction"]
    );
    assert_eq!(
        codes_in(
            ExprContext::InlineFilters,
            "{KeyPath: a, Condition: AnyElement, Expressions: [{Key: b, Condition: Exists}]}"
        ),
        ["inline-filter-restriction"]
    );
    assert_eq!(
        codes_in(
            ExprContext::InlineFilters,
            "{DeepKey: [a], Condition: IsIn, Values: [x]}"
        ),
        ["inline-filter-restriction"]
    );
}

#[test]
fn severity_conditions_reject_multi_key_and_absolute() {
    assert_eq!(
        codes_in(
            ExprContext::DynamicSeverity,
            "{Condition: Equals, Values: [{Key: a}, {Key: b}]}"
        ),
        ["dynamic-severity-restriction"]
    );
    assert_eq!(
        codes_in(ExprContext::DynamicSeverity, "{Condition: AlwaysTrue}"),
        ["dynamic-severity-restriction"]
    );
    assert!(codes_in(ExprContext::DynamicSeverity, "{DeepKey: [a, b], Condition: Exists}").is_empty());
}

#[test]
fn detection_that_is_not_a_list() {
    let node = parse("{KeyPath: a, Condition: Exists}");
    let mut cx = Cx::new(FileId(0), LoadOptions::default());
    assert!(expr_list(&mut cx, &node, "Detection", ExprContext::Detection).is_none());
    assert_eq!(cx.diags[0].code.name(), "wrong-type");
}

#[test]
fn key_path_grammar() {
    let ok = |s: &str| parse_key_path(s).unwrap();
    assert_eq!(ok("a.0"), [Step::Member("a".into()), Step::Member("0".into())]);
    assert_eq!(
        ok("m[1][-2][*].x y"),
        [
            Step::Member("m".into()),
            Step::Index(1),
            Step::Index(-2),
            Step::Wildcard,
            Step::Member("x y".into())
        ]
    );
    assert_eq!(ok("$@*"), [Step::Member("$@*".into())]);
    for bad in [
        "",
        ".a",
        "a.",
        "a..b",
        "[0]",
        "a.[0]",
        "a[",
        "a]",
        "a[0]b",
        "a[ 0]",
        "a[]",
        "a[-]",
        "a[+1]",
        "a[99999999999999999999]",
    ] {
        assert!(parse_key_path(bad).is_err(), "{bad}");
    }
}

#[test]
fn diagnostics_point_at_the_narrowest_span() {
    let node = parse(
        "- KeyPath: a\n  Condition: Equals\n  Value: x\n  Extra: 1\n- Key: a\n  KeyPath: b\n  Condition: Exists\n",
    );
    let mut cx = Cx::new(FileId(0), LoadOptions::default());
    expr_list(&mut cx, &node, "Detection", ExprContext::Detection);
    let at: Vec<(&str, u32, u32)> = cx
        .diags
        .iter()
        .map(|d| {
            let s = d.primary.as_ref().unwrap().span.start;
            (d.code.name(), s.line, s.col)
        })
        .collect();
    assert_eq!(at, [("unknown-key", 4, 3), ("exclusive-keys", 6, 3)]);
}

#[test]
fn deep_nesting_does_not_panic() {
    let mut text = String::from("- ");
    for _ in 0..100 {
        text.push_str("{Any: [");
    }
    text.push_str("{Condition: AlwaysTrue}");
    for _ in 0..100 {
        text.push_str("]}");
    }
    let node = parse(&text);
    let mut cx = Cx::new(FileId(0), LoadOptions::default());
    let list = expr_list(&mut cx, &node, "Detection", ExprContext::Detection).unwrap();
    assert_eq!(list.len(), 1);
}
