//! Lookup tables: `LOOKUP_TABLE_SCHEMA` (file-backed) and
//! `SQL_LOOKUP_TABLE_SCHEMA` (filled by a query key) of PAT 1.7.0, with
//! the `Refresh` and `AssociatedLogTypes` rules of PAT's JSON schema.

use super::{Field, Kind, QUERY_KEYS, mapping_items, nested_list, one_of, opt, req, required_string, value};
use crate::diagnostic::Code;
use crate::load::Cx;
use crate::model::AnalysisType;
use crate::yaml::Node;

/// `LOOKUP_TABLE_SCHEMA`; one of `Filename` and `Refresh` is required.
pub(super) const FILE_TABLE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("LookupName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Filename", Kind::Str),
    opt("Refresh", Kind::Custom),
    req("Schema", Kind::Str),
    req("LogTypeMap", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Reference", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// `SQL_LOOKUP_TABLE_SCHEMA`; one of [`QUERY_KEYS`] is required, and
/// `Refresh` (reported with its own message).
pub(super) const SQL_TABLE: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("LookupName", Kind::Skip),
    req("Enabled", Kind::Bool),
    opt("Query", Kind::Str),
    opt("AthenaQuery", Kind::Str),
    opt("SnowflakeQuery", Kind::Str),
    opt("DatabricksQuery", Kind::Str),
    req("LogTypeMap", Kind::Custom),
    opt("Refresh", Kind::Custom),
    opt("Indicators", Kind::Custom),
    opt("Validations", Kind::Custom),
    opt("Description", Kind::Str),
    opt("Reference", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// Keys of a file-backed table's `Refresh` (an S3 or GCS object).
const FILE_REFRESH_KEYS: &[&str] = &[
    "ObjectPath",
    "PeriodMinutes",
    "AlarmPeriodMinutes",
    "RoleARN",
    "ObjectKMSKey",
    "GCSCredentials",
    "StorageProvider",
];

/// Longest `AlarmPeriodMinutes` PAT accepts (one day).
const MAX_ALARM_PERIOD: i64 = 1440;

/// Loads a lookup table.
pub(super) fn load(cx: &mut Cx, root: &Node) {
    let ty = AnalysisType::LookupTable;
    let sql = QUERY_KEYS.iter().any(|k| root.get(k).is_some());
    if sql {
        let for_files =
            "this lookup table is filled by its query key; `Filename` and `Schema` are for tables loaded from a file";
        super::fields(
            cx,
            root,
            ty,
            SQL_TABLE,
            &[("Filename", for_files), ("Schema", for_files)],
        );
        if root.get("Refresh").is_none() {
            cx.report(
                Code::MissingKey,
                root.first_key_span(),
                "missing key `Refresh` in a lookup_table filled by a query",
            )
            .help = Some("add `Refresh` with `PeriodMinutes` or `CronExpression`".to_owned());
        }
        if let Some(n) = value(root, "Refresh") {
            sql_refresh(cx, n);
        }
        for (key, inner) in [("Indicators", "Indicators"), ("Validations", "Validations")] {
            if let Some(n) = value(root, key) {
                field_lists(cx, n, key, inner);
            }
        }
    } else {
        let for_sql = "only lookup tables filled by a query (`Query`, `SnowflakeQuery`, …) have this key";
        super::fields(
            cx,
            root,
            ty,
            FILE_TABLE,
            &[("Indicators", for_sql), ("Validations", for_sql)],
        );
        if root.get("Filename").is_none() && root.get("Refresh").is_none() {
            cx.report(
                Code::MissingKey,
                root.first_key_span(),
                "missing key `Filename` or `Refresh` in a lookup_table",
            )
            .help =
                Some("load the table from a file next to this one (`Filename`) or from S3/GCS (`Refresh`)".to_owned());
        }
        if let Some(n) = value(root, "Refresh") {
            file_refresh(cx, n);
        }
    }
    if let Some(n) = value(root, "LogTypeMap") {
        log_type_map(cx, n);
    }
}

/// `Refresh` of a file-backed table: `ObjectPath` and `PeriodMinutes`,
/// exactly one of `RoleARN` and `GCSCredentials`, `AlarmPeriodMinutes` at
/// most a day.
fn file_refresh(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "Refresh") else { return };
    cx.unknown_keys(m, FILE_REFRESH_KEYS, Code::UnknownKey, "`Refresh`");
    required_string(cx, m, "ObjectPath", "`Refresh`");
    match m.get("PeriodMinutes") {
        Some(v) => {
            cx.integer(v, "PeriodMinutes");
        }
        None => cx.missing(m, "PeriodMinutes", "`Refresh`"),
    }
    for key in ["RoleARN", "ObjectKMSKey", "GCSCredentials", "StorageProvider"] {
        if let Some(v) = m.get(key) {
            cx.string(v, key);
        }
    }
    one_of(cx, m, "RoleARN", "GCSCredentials", "`Refresh`");
    if let Some(v) = m.get("AlarmPeriodMinutes") {
        if let Some(p) = cx.integer(v, "AlarmPeriodMinutes") {
            if p.value > MAX_ALARM_PERIOD {
                cx.report(
                    Code::InvalidValue,
                    p.span,
                    format!(
                        "`AlarmPeriodMinutes` must be at most {MAX_ALARM_PERIOD} (one day), found {}",
                        p.value
                    ),
                );
            }
        }
    }
}

/// `Refresh` of a table filled by a query: exactly one of `PeriodMinutes`
/// and `CronExpression`.
fn sql_refresh(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "Refresh") else { return };
    cx.unknown_keys(m, &["PeriodMinutes", "CronExpression"], Code::UnknownKey, "`Refresh`");
    if let Some(v) = m.get("PeriodMinutes") {
        cx.integer(v, "PeriodMinutes");
    }
    if let Some(v) = m.get("CronExpression") {
        cx.string(v, "CronExpression");
    }
    one_of(cx, m, "PeriodMinutes", "CronExpression", "`Refresh`");
}

/// `LogTypeMap`: `PrimaryKey` and `AssociatedLogTypes` items with
/// `LogType` and `Selectors`.
fn log_type_map(cx: &mut Cx, n: &Node) {
    let Some(m) = cx.mapping(n, "LogTypeMap") else { return };
    cx.unknown_keys(
        m,
        &["PrimaryKey", "AssociatedLogTypes"],
        Code::UnknownKey,
        "`LogTypeMap`",
    );
    required_string(cx, m, "PrimaryKey", "`LogTypeMap`");
    let Some(assoc) = m.get("AssociatedLogTypes") else {
        return;
    };
    for item in mapping_items(cx, assoc, "AssociatedLogTypes") {
        cx.unknown_keys(
            item,
            &["LogType", "Selectors"],
            Code::UnknownKey,
            "an associated log type",
        );
        required_string(cx, item, "LogType", "an associated log type");
        nested_list(cx, item, "Selectors", true, "an associated log type");
    }
}

/// `Indicators` / `Validations`: items with `Field` and a string list.
fn field_lists(cx: &mut Cx, n: &Node, key: &str, inner: &str) {
    let place = format!("an `{key}` item");
    for item in mapping_items(cx, n, key) {
        cx.unknown_keys(item, &["Field", inner], Code::UnknownKey, &place);
        required_string(cx, item, "Field", &place);
        nested_list(cx, item, inner, true, &place);
    }
}
