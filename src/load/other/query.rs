//! Saved and scheduled queries, scheduled prompts and their `Schedule`
//! (`SAVED_QUERY_SCHEMA`, `SCHEDULED_QUERY_SCHEMA`, `SCHEDULED_PROMPT_SCHEMA`,
//! `QueryScheduleSchema` of PAT 1.7.0; see the parent module).

use super::sql::{is_pantherflow, is_qualified, table_references};
use super::{Field, Kind, QUERY_KEYS, nested_list, opt, place, req, value, value_sub_span};
use crate::diagnostic::{Code, did_you_mean};
use crate::load::Cx;
use crate::model::AnalysisType;
use crate::yaml::Node;

/// `SAVED_QUERY_SCHEMA`.
pub(super) const SAVED_QUERY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("QueryName", Kind::Skip),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("Lookback", Kind::Bool),
    opt("LookbackWindowSeconds", Kind::Int),
    opt("BaseVersion", Kind::Int),
];

/// `SCHEDULED_QUERY_SCHEMA`.
pub(super) const SCHEDULED_QUERY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("QueryName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    req("Schedule", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("Lookback", Kind::Bool),
    opt("LookbackWindowSeconds", Kind::Int),
    opt("EmailConfig", Kind::Custom),
    opt("BaseVersion", Kind::Int),
];

/// `SCHEDULED_PROMPT_SCHEMA`.
pub(super) const PROMPT: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PromptName", Kind::Skip),
    req("DisplayName", Kind::Str),
    req("PromptText", Kind::Str),
    req("RunAsUser", Kind::Custom),
    req("Schedule", Kind::Custom),
    opt("Description", Kind::Str),
    opt("OutputLength", Kind::Custom),
    opt("Enabled", Kind::Bool),
    opt("Private", Kind::Custom),
];

/// `OutputLength` values of a scheduled prompt.
const OUTPUT_LENGTHS: &[&str] = &["small", "medium", "largest"];

/// Keys of a `Schedule`.
const SCHEDULE_KEYS: &[&str] = &["CronExpression", "RateMinutes", "TimeoutMinutes"];

/// Loads a saved or scheduled query.
pub(super) fn load(cx: &mut Cx, root: &Node, ty: AnalysisType) {
    let scheduled = ty == AnalysisType::ScheduledQuery;
    let spec = if scheduled { SCHEDULED_QUERY } else { SAVED_QUERY };
    let extra: &[(&str, &str)] = if scheduled {
        &[]
    } else {
        &[
            (
                "Schedule",
                "a saved query has no schedule: use `AnalysisType: scheduled_query`",
            ),
            (
                "Enabled",
                "a saved query cannot be enabled: use `AnalysisType: scheduled_query`",
            ),
        ]
    };
    super::fields(cx, root, ty, spec, extra);
    query_keys(cx, root, &place(ty));
    if scheduled {
        if let Some(n) = value(root, "Schedule") {
            schedule(cx, n);
        }
        if let Some(n) = value(root, "EmailConfig") {
            email_config(cx, n);
        }
        if !cx.opts.ignore_table_names {
            table_names(cx, root);
        }
    }
}

/// Loads a scheduled prompt (`PromptName` is checked by the caller).
pub(super) fn load_prompt(cx: &mut Cx, root: &Node) {
    super::fields(cx, root, AnalysisType::ScheduledPrompt, PROMPT, &[]);
    if let Some(n) = value(root, "Schedule") {
        schedule(cx, n);
    }
    if let Some(n) = value(root, "RunAsUser") {
        if let Some(s) = cx.string(n, "RunAsUser") {
            if s.value.is_empty() {
                cx.report(Code::InvalidValue, s.span, "`RunAsUser` must not be empty")
                    .help = Some("give the email of a Panther user or the ID of an API token".to_owned());
            }
        }
    }
    if let Some(n) = value(root, "OutputLength") {
        if let Some(s) = cx.string(n, "OutputLength") {
            if !OUTPUT_LENGTHS.contains(&s.value.as_str()) {
                let d = cx.report(
                    Code::InvalidValue,
                    s.span,
                    format!(
                        "`OutputLength` must be one of small, medium, largest, found `{}`",
                        s.value
                    ),
                );
                d.help = did_you_mean(&s.value, OUTPUT_LENGTHS.iter().copied());
            }
        }
    }
    if let Some(n) = value(root, "Private") {
        if let Some(b) = cx.boolean(n, "Private") {
            if b.value {
                cx.report(Code::InvalidValue, b.span, "`Private: true` cannot be uploaded")
                    .help = Some("bulk upload only creates shared prompts: remove the key or write `false`".to_owned());
            }
        }
    }
}

/// At least one of the query keys.
pub(super) fn query_keys(cx: &mut Cx, root: &Node, place: &str) {
    if QUERY_KEYS.iter().any(|k| root.get(k).is_some()) {
        return;
    }
    cx.report(
        Code::MissingKey,
        root.first_key_span(),
        format!("missing key `Query` in {place}"),
    )
    .help = Some("give the SQL as `Query`, `AthenaQuery`, `SnowflakeQuery` or `DatabricksQuery`".to_owned());
}

/// A `Schedule` (cli-and-settings §3 row 14): exactly one of
/// `CronExpression` and `RateMinutes`, `TimeoutMinutes`, `RateMinutes` > 1
/// and at least `TimeoutMinutes`.
pub(super) fn schedule(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "Schedule") else { return };
    cx.unknown_keys(m, SCHEDULE_KEYS, Code::UnknownKey, "`Schedule`");
    if let Some(v) = m.get("CronExpression") {
        cx.string(v, "CronExpression");
    }
    let rate = m.get("RateMinutes").and_then(|v| cx.integer(v, "RateMinutes"));
    let timeout = match m.get("TimeoutMinutes") {
        Some(v) => cx.integer(v, "TimeoutMinutes"),
        None => {
            cx.missing(m, "TimeoutMinutes", "`Schedule`");
            None
        }
    };
    match (m.get_entry("CronExpression"), m.get_entry("RateMinutes")) {
        (Some((kc, _)), Some((kr, _))) => {
            let second = if kc.span.start <= kr.span.start { kr } else { kc };
            cx.report(
                Code::InvalidSchedule,
                second.span,
                "a `Schedule` cannot have both `CronExpression` and `RateMinutes`",
            )
            .help = Some("keep exactly one of `CronExpression` and `RateMinutes`".to_owned());
        }
        (None, None) => {
            cx.report(
                Code::MissingKey,
                m.first_key_span(),
                "missing key `CronExpression` or `RateMinutes` in `Schedule`",
            )
            .help = Some("run on a cron schedule (`CronExpression`) or every N minutes (`RateMinutes`)".to_owned());
        }
        _ => {}
    }
    let Some(rate) = rate else { return };
    if rate.value <= 1 {
        cx.report(
            Code::InvalidSchedule,
            rate.span,
            format!("`RateMinutes` must be greater than 1, found {}", rate.value),
        )
        .help = Some("run at most every 2 minutes".to_owned());
    } else if let Some(t) = timeout.filter(|t| rate.value < t.value) {
        let file = cx.file;
        let d = cx.report(
            Code::InvalidSchedule,
            rate.span,
            format!(
                "`RateMinutes` ({}) must be at least `TimeoutMinutes` ({})",
                rate.value, t.value
            ),
        );
        d.related.push(crate::diagnostic::Label {
            file,
            span: t.span,
            text: Some("timeout here".to_owned()),
        });
        d.help = Some("a run must be able to finish before the next one starts".to_owned());
    }
}

/// `EmailConfig` of a scheduled query.
fn email_config(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "EmailConfig") else { return };
    cx.unknown_keys(
        m,
        &["Recipients", "SendEmpty", "PreferAttachment"],
        Code::UnknownKey,
        "`EmailConfig`",
    );
    nested_list(cx, m, "Recipients", true, "`EmailConfig`");
    for key in ["SendEmpty", "PreferAttachment"] {
        if let Some(v) = m.get(key) {
            cx.boolean(v, key);
        }
    }
}

/// `invalid-table-name` (cli-and-settings §3 row 15): the Snowflake query
/// (`Query`, else `SnowflakeQuery`, as PAT picks it) must read
/// `<db>.public.<table>` or `snowflake.account_usage.<view>`. Templated
/// queries are skipped: PAT renders them with Jinja first.
fn table_names(cx: &mut Cx, root: &Node) {
    let Some((key, n)) = ["Query", "SnowflakeQuery"]
        .iter()
        .find_map(|k| root.get(k).map(|n| (*k, n)))
    else {
        return;
    };
    let Some(sql) = n.as_str() else { return };
    if sql.contains("{{") || sql.contains("{%") || is_pantherflow(sql) {
        return;
    }
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for t in table_references(sql) {
        if is_qualified(&t.name) || seen.contains(&t.name) || cx.opts.is_valid_table_name(&t.name) {
            continue;
        }
        let parts: Vec<&str> = t.name.split('.').collect();
        let example = match parts.as_slice() {
            [table] => format!("panther_logs.public.{table}"),
            [db, table] => format!("{db}.public.{table}"),
            [db, _, table] => format!("{db}.public.{table}"),
            _ => "panther_logs.public.<table>".to_owned(),
        };
        let span = value_sub_span(n, sql, t.offset, t.len);
        cx.report(
            Code::InvalidTableName,
            span,
            format!("`{key}` reads table `{}`, which is not fully qualified", t.name),
        )
        .help = Some(format!(
            "write `<database>.public.<table>` (e.g. `{example}`) or `snowflake.account_usage.<view>`"
        ));
        seen.insert(t.name);
    }
}
