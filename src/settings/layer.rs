//! The one place an option's value is resolved: command-line flag >
//! environment variable > settings file > built-in default
//! (cli-and-settings §5.2).
//!
//! Every command reads its options through [`Layers`], so a variable means
//! the same to every command: `PANTHER_SKIP_DISABLED_TESTS=on` skips
//! disabled tests in `test` exactly as in `zip`. Booleans from the
//! environment use one rule ([`parse_bool`]); an empty variable counts as
//! unset; a value that is not a boolean or a number where one is needed is
//! a configuration error naming the variable (exit 2), never silently
//! ignored.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::settings::Settings;

/// The boolean words accepted from the environment, case-insensitive (the
/// same set `--filter` accepts for boolean keys).
pub fn parse_bool(s: &str) -> Option<bool> {
    crate::filter::parse_bool(s.trim())
}

/// The environment and the settings file, below the flags.
#[derive(Debug)]
pub struct Layers<'a> {
    /// The settings file (defaults where there is none).
    pub settings: &'a Settings,
    /// `None`: the process environment; otherwise these variables only.
    vars: Option<HashMap<String, String>>,
}

impl<'a> Layers<'a> {
    /// The process environment over `settings`.
    pub fn new(settings: &'a Settings) -> Layers<'a> {
        Layers { settings, vars: None }
    }

    /// Exactly these variables over `settings` (tests).
    pub fn with_vars(settings: &'a Settings, vars: &[(&str, &str)]) -> Layers<'a> {
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Layers {
            settings,
            vars: Some(vars),
        }
    }

    /// A variable's value; unset, not Unicode or blank: `None`.
    pub fn var(&self, name: &str) -> Option<String> {
        let v = match &self.vars {
            Some(vars) => vars.get(name).cloned(),
            None => std::env::var(name).ok(),
        }?;
        (!v.trim().is_empty()).then_some(v)
    }

    /// A boolean option with a `--no-` form: `off` (the `--no-` form given
    /// last) is false, `on` is true, then the variable, the setting, the
    /// default. Pass `off: false` for a switch without a `--no-` form.
    ///
    /// # Errors
    /// The variable holds something that is not a boolean.
    pub fn switch(&self, on: bool, off: bool, var: Option<&str>, setting: Option<bool>, default: bool) -> Result<bool> {
        if off {
            return Ok(false);
        }
        if on {
            return Ok(true);
        }
        if let Some(name) = var {
            if let Some(v) = self.var(name) {
                return parse_bool(&v).ok_or_else(|| {
                    Error::Settings(format!(
                        "{name}={v} is not a boolean; use 1, true, yes, on, y, t or 0, false, no, off, n, f"
                    ))
                });
            }
        }
        Ok(setting.unwrap_or(default))
    }

    /// A count (`--minimum-tests`, `--jobs`): the flag, the variable, the
    /// setting (a negative one counts as unset); `None` when all are silent.
    ///
    /// # Errors
    /// The variable holds something that is not a whole number ≥ 0.
    pub fn count(&self, flag: Option<usize>, var: &str, setting: Option<i64>) -> Result<Option<usize>> {
        if flag.is_some() {
            return Ok(flag);
        }
        if let Some(v) = self.var(var) {
            return v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::Settings(format!("{var}={v} is not a whole number (0 or more)")));
        }
        Ok(setting.and_then(|n| usize::try_from(n).ok()))
    }

    /// A list option: the flag's values, else the variable split on
    /// whitespace, else the setting, else empty.
    pub fn list(&self, flag: &[String], var: &str, setting: Option<&[String]>) -> Vec<String> {
        if !flag.is_empty() {
            return flag.to_vec();
        }
        if let Some(v) = self.var(var) {
            return v.split_whitespace().map(str::to_owned).collect();
        }
        setting.map(<[String]>::to_vec).unwrap_or_default()
    }

    /// A text option: the flag, the variable, the setting.
    pub fn text(&self, flag: Option<&str>, var: &str, setting: Option<&str>) -> Option<String> {
        flag.map(str::to_owned)
            .or_else(|| self.var(var))
            .or_else(|| setting.map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(skip: Option<bool>) -> Settings {
        Settings {
            skip_disabled_tests: skip,
            ..Settings::default()
        }
    }

    #[test]
    fn one_truthy_rule() {
        for (v, want) in [
            ("1", true),
            ("TRUE", true),
            ("Yes", true),
            ("on", true),
            ("y", true),
            ("T", true),
            ("0", false),
            ("false", false),
            ("NO", false),
            ("off", false),
            ("n", false),
            ("F", false),
        ] {
            let s = settings(Some(!want));
            let l = Layers::with_vars(&s, &[("PANTHER_SKIP_DISABLED_TESTS", v)]);
            let got = l
                .switch(
                    false,
                    false,
                    Some("PANTHER_SKIP_DISABLED_TESTS"),
                    s.skip_disabled_tests,
                    false,
                )
                .ok();
            assert_eq!(got, Some(want), "{v}");
        }
    }

    #[test]
    fn unrecognised_boolean_names_the_variable() {
        let s = settings(None);
        let l = Layers::with_vars(&s, &[("PANTHER_SKIP_TESTS", "maybe")]);
        let e = l.switch(false, false, Some("PANTHER_SKIP_TESTS"), None, false);
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("PANTHER_SKIP_TESTS=maybe is not a boolean"), "{msg}");
    }

    #[test]
    fn flag_beats_environment_beats_settings_beats_default() {
        let on = settings(Some(true));
        let off = settings(Some(false));
        let var = Some("V");
        let no_env = Layers::with_vars(&on, &[]);
        let env_off = Layers::with_vars(&on, &[("V", "off")]);
        let env_on = Layers::with_vars(&off, &[("V", "on")]);
        let blank = Layers::with_vars(&on, &[("V", " ")]);
        // The `--no-` form beats everything, the flag beats the variable.
        assert_eq!(
            env_on.switch(false, true, var, off.skip_disabled_tests, true).ok(),
            Some(false)
        );
        assert_eq!(
            env_off.switch(true, false, var, on.skip_disabled_tests, false).ok(),
            Some(true)
        );
        // The variable beats the settings file, both ways.
        assert_eq!(
            env_off.switch(false, false, var, on.skip_disabled_tests, false).ok(),
            Some(false)
        );
        assert_eq!(
            env_on.switch(false, false, var, off.skip_disabled_tests, false).ok(),
            Some(true)
        );
        // A blank variable is unset: the settings file decides.
        assert_eq!(
            blank.switch(false, false, var, on.skip_disabled_tests, false).ok(),
            Some(true)
        );
        assert_eq!(
            no_env.switch(false, false, var, on.skip_disabled_tests, false).ok(),
            Some(true)
        );
        // Nothing set: the default.
        let none = settings(None);
        let l = Layers::with_vars(&none, &[]);
        assert_eq!(l.switch(false, false, var, None, true).ok(), Some(true));
    }

    #[test]
    fn counts_lists_and_text() {
        let s = Settings {
            minimum_tests: Some(3),
            ..Settings::default()
        };
        let l = Layers::with_vars(&s, &[("N", "0"), ("BAD", "two"), ("L", " a  b "), ("T", "x")]);
        assert_eq!(l.count(Some(5), "N", s.minimum_tests).ok(), Some(Some(5)));
        assert_eq!(l.count(None, "N", s.minimum_tests).ok(), Some(Some(0)));
        assert_eq!(l.count(None, "UNSET", s.minimum_tests).ok(), Some(Some(3)));
        assert_eq!(l.count(None, "UNSET", Some(-1)).ok(), Some(None));
        let msg = l
            .count(None, "BAD", None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(msg, "BAD=two is not a whole number (0 or more)");
        let from_settings = ["s".to_owned()];
        assert_eq!(l.list(&[], "L", Some(&from_settings)), ["a", "b"]);
        assert_eq!(l.list(&["f".to_owned()], "L", None), ["f"]);
        assert_eq!(l.list(&[], "UNSET", Some(&from_settings)), ["s"]);
        assert_eq!(l.text(None, "T", Some("s")).as_deref(), Some("x"));
        assert_eq!(l.text(Some("f"), "T", Some("s")).as_deref(), Some("f"));
        assert_eq!(l.text(None, "UNSET", Some("s")).as_deref(), Some("s"));
    }
}
