//! What every command resolves before it runs: settings, flags and
//! environment merged with the precedence flag > environment > settings
//! file > default (cli-and-settings §5.2), and the loaded project.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::{Color, OutputArgs, ProjectArgs};
use crate::diagnostic::Diagnostic;
use crate::discover::{self, DiscoverOptions};
use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::load::{Keep, LoadOptions};
use crate::model::Analysis;
use crate::project::{Project, ProjectOptions};
use crate::report::{Format, Style};
use crate::resolve::{self, Index, Selection, Why};
use crate::settings::{self, Layers, Settings};
use crate::source::FileId;

/// Resolved options of a run.
#[derive(Debug)]
pub struct Context {
    /// The working directory.
    pub cwd: PathBuf,
    /// Search roots as given (for the report).
    pub paths: Vec<String>,
    /// Loading options.
    pub project: ProjectOptions,
    /// Parsed filters.
    pub filters: Vec<Filter>,
    /// Report format.
    pub format: Format,
    /// Report file.
    pub output: Option<PathBuf>,
    /// Human output style.
    pub style: Style,
    /// `--strict`.
    pub strict: bool,
    /// `--deny-warnings`.
    pub deny_warnings: bool,
    /// The settings file.
    pub settings: Settings,
    /// Warnings about flags and settings (filters on the same key, ...).
    pub warnings: Vec<Diagnostic>,
    /// Files named on the command line: the report is limited to them.
    pub report_files: Option<HashSet<PathBuf>>,
    /// Folders the report is limited to while the whole project is loaded
    /// (see [`Context::load_whole_project`]); empty: no limit.
    pub report_dirs: Vec<PathBuf>,
    /// `--changed-since REF`.
    pub changed_since: Option<String>,
    /// The items `--changed-since` selects, with why (set by
    /// [`Context::load`]); `None` without the flag.
    pub changed: Option<Selection>,
    /// The files a `--watch` batch changed (relative to the project root,
    /// `/`-separated) and the last text of those deleted: they select
    /// items as `--changed-since` does.
    pub watch_changes: Option<(HashSet<String>, Vec<String>)>,
}

impl Context {
    /// Resolves flags, environment and settings.
    ///
    /// # Errors
    /// Bad settings file, bad filter, unknown format, a missing path.
    pub fn resolve(project: &ProjectArgs, output: &OutputArgs) -> Result<Context> {
        let cwd = std::env::current_dir().map_err(|source| Error::Read {
            path: PathBuf::from("."),
            source,
        })?;
        // What is read before the settings file is found: the environment only.
        let no_settings = Settings::default();
        let env = Layers::new(&no_settings);
        let mut roots: Vec<PathBuf> = project
            .source
            .paths
            .iter()
            .chain(&project.source.path)
            .cloned()
            .collect();
        if roots.is_empty() {
            if let Some(p) = env.var("PANTHER_PATH") {
                roots.push(PathBuf::from(p));
            }
        }
        let first = roots.first().cloned().unwrap_or_else(|| PathBuf::from("."));
        let project_root = discover::project_root(&first, &cwd);
        let env_config = env.var("DETECT_CONFIG");
        let settings = match settings::locate(
            project.source.settings.config.as_deref(),
            env_config.as_deref(),
            &cwd,
            &first,
            &project_root,
        )? {
            Some(p) => settings::read(&p)?,
            None => Settings::default(),
        };
        if roots.is_empty() {
            if let Some(p) = &settings.path_value {
                roots.push(PathBuf::from(p));
            }
        }
        // Files named on the command line limit the report; the whole
        // project is loaded so cross-file checks still see everything.
        let mut report_files = None;
        if !roots.is_empty() && roots.iter().all(|r| cwd.join(r).is_file()) {
            report_files = Some(
                roots
                    .iter()
                    .map(|r| discover::absolute(r, &cwd))
                    .collect::<HashSet<_>>(),
            );
            roots = vec![discover::project_root(&first, &cwd)];
        }
        let paths: Vec<String> = if roots.is_empty() {
            vec![".".to_owned()]
        } else {
            roots.iter().map(|r| r.to_string_lossy().into_owned()).collect()
        };
        let layers = Layers::new(&settings);
        let ignore = layers.list(
            &project.select.ignore_files,
            "PANTHER_IGNORE_FILES",
            settings.ignore_files.as_deref(),
        );
        let raw_filters = layers.list(&project.select.filter, "PANTHER_FILTER", settings.filter.as_deref());
        let mut warnings = Vec::new();
        let filters = filter::parse(&raw_filters, &mut warnings)?;
        let format = match output.format {
            Some(f) => f,
            None => match layers.text(None, "DETECT_FORMAT", settings.format.as_deref()) {
                Some(name) => parse_format(&name)?,
                None => Format::Human,
            },
        };
        let jobs = layers.count(output.jobs, "PANTHER_WORKERS", settings.jobs)?;
        if let Some(n) = jobs.filter(|n| *n > 0) {
            // Only the first configuration wins; later calls are harmless.
            let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
        }
        let color = match output.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none() && output.output.is_none() && std::io::stdout().is_terminal()
            }
        };
        let style = Style {
            color,
            quiet: output.quiet,
            verbose: output.verbose > 0,
            ..Style::default()
        };
        let all_dirs = layers.switch(project.select.all_dirs, false, None, settings.all_dirs, false)?;
        let ignore_extra_keys = layers.switch(
            project.checks.ignore_extra_keys,
            project.checks.no_ignore_extra_keys,
            None,
            settings.ignore_extra_keys,
            false,
        )?;
        let ignore_table_names = layers.switch(
            project.checks.ignore_table_names,
            project.checks.no_ignore_table_names,
            None,
            settings.ignore_table_names,
            false,
        )?;
        let strict = layers.switch(output.strict, false, Some("DETECT_STRICT"), settings.strict, false)?;
        let deny_warnings = layers.switch(output.deny_warnings, false, None, settings.deny_warnings, false)?;
        Ok(Context {
            cwd,
            paths,
            project: ProjectOptions {
                discover: DiscoverOptions {
                    roots,
                    all_dirs,
                    ignore,
                },
                load: LoadOptions {
                    ignore_extra_keys,
                    ignore_table_names,
                    valid_table_names: project
                        .checks
                        .valid_table_names
                        .iter()
                        .chain(settings.valid_table_names.iter().flatten())
                        .cloned()
                        .collect(),
                    keep: Keep::All,
                },
            },
            filters,
            format,
            output: output.output.clone(),
            style,
            strict,
            deny_warnings,
            settings,
            warnings,
            report_files,
            report_dirs: Vec::new(),
            changed_since: None,
            changed: None,
            watch_changes: None,
        })
    }

    /// The environment and the settings file, for options a command
    /// resolves itself (flag > environment > settings > default).
    pub fn layers(&self) -> Layers<'_> {
        Layers::new(&self.settings)
    }

    /// Makes later loads lean (docs/design/016): each file keeps of its
    /// tree only what `validate` and `test` read after loading, plus the
    /// keys `--filter` reads, and of its typed rule the detection logic only
    /// with `logic` (`test` runs it, `validate` does not). Commands that
    /// write or send files keep whole trees.
    pub fn lean_trees(&mut self, logic: bool) {
        self.project.load.keep = Keep::Lean {
            keys: self.filters.iter().map(|f| f.key.clone()).collect(),
            logic,
        };
    }

    /// Loads the project and appends the settings file's warnings to it
    /// (again on every load: `--fix` and `--watch` load more than once).
    ///
    /// # Errors
    /// A missing search root or a bad ignore pattern.
    pub fn load(&mut self) -> Result<Project> {
        let mut project = Project::load(&self.project, &self.cwd)?;
        if let Some(src) = self.settings.source.clone() {
            let id = FileId(project.sources.len() as u32);
            project.sources.push(src);
            for mut d in self.settings.diagnostics.iter().cloned() {
                if let Some(l) = d.primary.as_mut() {
                    l.file = id;
                }
                project.diagnostics.push(d);
            }
        }
        project.diagnostics.extend(self.warnings.iter().cloned());
        if let Some(rev) = &self.changed_since {
            let root = discover::absolute(&project.root, &self.cwd);
            let (files, deleted) = changed_files(&root, rev)?;
            self.changed = Some(resolve::select_changed(&project, &files, &deleted));
        } else if let Some((files, deleted)) = &self.watch_changes {
            self.changed = Some(resolve::select_changed(&project, files, deleted));
        }
        if !project.gated.is_empty() {
            // Reported under --verbose by the command.
        }
        Ok(project)
    }

    /// Whether a file is part of the report.
    pub fn is_reported(&self, path: &Path) -> bool {
        self.report_files.as_ref().is_none_or(|set| set.contains(path))
            && (self.report_dirs.is_empty() || self.report_dirs.iter().any(|d| path.starts_with(d)))
    }

    /// Loads the whole project, not only the folders given, while the
    /// report (and a bundle) stays limited to those folders. Used when
    /// bases are disabled automatically: a base may live anywhere in the
    /// project (upload-protocol §7.3). The given folders are still walked
    /// first, without the folder-name gate, as before.
    pub fn load_whole_project(&mut self) {
        if self.report_files.is_some() {
            return;
        }
        let roots = &mut self.project.discover.roots;
        let first = roots.first().cloned().unwrap_or_else(|| PathBuf::from("."));
        let project_root = discover::project_root(&first, &self.cwd);
        let given: Vec<PathBuf> = roots.iter().map(|r| discover::absolute(r, &self.cwd)).collect();
        if given.is_empty()
            || given
                .iter()
                .any(|r| *r == project_root || !r.starts_with(&project_root))
        {
            return;
        }
        self.report_dirs = given;
        roots.push(project_root);
    }

    /// Whether `--filter` selects an item. Files under `*/global_helpers`
    /// and `*data_models*` always pass; a derived detection with a local
    /// base is matched on its effective (inherited) values (cli-and-settings
    /// §4.10).
    /// With `--changed-since`, the item must also be among the changed
    /// items and their dependents (globals and data models included).
    pub fn selects(&self, a: &Analysis, rel: &str, index: &Index<'_>) -> bool {
        resolve::selects(&self.filters, a, rel, index) && self.changed.as_ref().is_none_or(|c| c.contains_key(&a.file))
    }

    /// Why `--changed-since` selected the item of a file (empty without
    /// the flag).
    pub fn why(&self, file: FileId) -> Vec<Why> {
        self.changed
            .as_ref()
            .and_then(|c| c.get(&file))
            .cloned()
            .unwrap_or_default()
    }
}

/// The files git reports changed since `rev` below `root`, relative to it
/// and `/`-separated: `git diff --name-only REF` (commits since REF, staged
/// and unstaged changes: the work tree against REF) and the untracked files
/// git does not ignore (`git ls-files --others --exclude-standard`).
///
/// # Errors
/// No `git` on `PATH`, `root` not in a git repository, a REF git does not
/// know: usage errors.
///
/// Also returns the text as of REF of each deleted `.yml`/`.yaml` file
/// (`git diff --diff-filter=D`, `git show REF:./path`), so what depended
/// on a deleted item is selected; one git cannot show is left out.
fn changed_files(root: &Path, rev: &str) -> Result<(HashSet<String>, Vec<String>)> {
    let git = |args: &[&str]| -> Result<std::process::Output> {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                Error::Usage(if e.kind() == std::io::ErrorKind::NotFound {
                    "--changed-since needs git, and no `git` was found on PATH".to_owned()
                } else {
                    format!("--changed-since: cannot run git: {e}")
                })
            })
    };
    let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Err(Error::Usage(format!(
            "--changed-since: {} is not in a git repository",
            root.display()
        )));
    }
    if rev.starts_with('-')
        || !git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])?
            .status
            .success()
    {
        return Err(Error::Usage(format!(
            "--changed-since: git does not know the revision `{rev}`"
        )));
    }
    let mut files = HashSet::new();
    let mut deleted = Vec::new();
    for args in [
        &["diff", "--name-only", "--relative", "-z", rev, "--"][..],
        &["ls-files", "--others", "--exclude-standard", "-z"][..],
        &["diff", "--name-only", "--relative", "--diff-filter=D", "-z", rev, "--"][..],
    ] {
        let deletions = args.contains(&"--diff-filter=D");
        let out = git(args)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::Usage(format!(
                "--changed-since: `git {}` failed: {}",
                args.join(" "),
                crate::text::escape_control(err.trim())
            )));
        }
        for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
            let name = String::from_utf8_lossy(name).into_owned();
            if !deletions {
                files.insert(name);
            } else if name.ends_with(".yml") || name.ends_with(".yaml") {
                let old = git(&["show", &format!("{rev}:./{name}")])?;
                if let (true, Ok(text)) = (old.status.success(), String::from_utf8(old.stdout)) {
                    deleted.push(text);
                }
            }
        }
    }
    Ok((files, deleted))
}

fn parse_format(name: &str) -> Result<Format> {
    use clap::ValueEnum;
    Format::from_str(name, true).map_err(|_| {
        Error::Usage(format!(
            "unknown report format `{name}`; use human, json, junit, sarif, github, markdown or codequality"
        ))
    })
}
