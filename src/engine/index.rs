//! A candidate index over a set of programs: which of them can match an
//! event, from the exact values their detections require.
//!
//! A program can only match an event whose value at some path is one of a
//! few strings when its `Detection` (an implicit `All`) has, among its
//! conjuncts, an `Equals` on a string, an `IsIn` on strings, or an `Any`
//! of those on one path (match-expressions §4.3: a string equals only the
//! same string). Such a program is listed under each of those strings;
//! every other program is always a candidate. [`Index::candidates`] looks
//! each indexed path up once per event and returns the candidates in
//! ascending order, so evaluating them gives the matches in the same order
//! as evaluating every program.

use std::collections::HashMap;

use serde_json::Value;

use super::Program;
use super::compile::{Base, Node};
use super::key_path::{Path, Seg};

/// The candidate index of a list of programs (by their IDs).
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// Programs that are always candidates.
    always: Vec<u32>,
    /// Indexed paths and, per path, string → programs.
    keys: Vec<(Path, ByValue)>,
}

/// The programs listed under each string of one path.
type ByValue = HashMap<Box<str>, Vec<u32>>;

/// What a detection requires: a path whose value must be one of these
/// strings (or an array holding one).
type Required<'a> = (&'a Path, Vec<&'a str>);

impl Index {
    /// Builds the index of `programs`, given as (ID, program) in ascending
    /// ID order; `None` for a program that is always a candidate (a Python
    /// rule, whose match is decided elsewhere).
    pub fn build(programs: &[(u32, Option<&Program>)]) -> Index {
        let detections: Vec<(u32, Option<&[Node]>)> =
            programs.iter().map(|(i, p)| (*i, p.map(|p| &*p.detection))).collect();
        Index::of_detections(&detections)
    }

    /// Builds the index of detections (the top-level lists of programs),
    /// as [`Index::build`] does.
    pub fn of_detections(programs: &[(u32, Option<&[Node]>)]) -> Index {
        let options: Vec<Vec<Required<'_>>> = programs
            .iter()
            .map(|(_, p)| p.map(conjuncts).unwrap_or_default())
            .collect();
        // Prefer the paths most programs can be indexed by: fewer lookups.
        let mut counts: Vec<(&Path, usize)> = Vec::new();
        for opts in &options {
            for (path, _) in opts {
                match counts.iter_mut().find(|(p, _)| p.segs == path.segs) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((path, 1)),
                }
            }
        }
        let count = |p: &Path| counts.iter().find(|(q, _)| q.segs == p.segs).map_or(0, |(_, n)| *n);
        let mut index = Index::default();
        for ((i, _), opts) in programs.iter().zip(&options) {
            let i = *i;
            let Some((path, values)) = opts.iter().max_by_key(|(p, v)| (count(p), usize::MAX - v.len())) else {
                index.always.push(i);
                continue;
            };
            let k = match index.keys.iter().position(|(p, _)| p.segs == path.segs) {
                Some(k) => k,
                None => {
                    index.keys.push(((*path).clone(), HashMap::new()));
                    index.keys.len() - 1
                }
            };
            for v in values {
                let list = index.keys[k].1.entry((*v).into()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        index
    }

    /// The programs that can match `event`, ascending, into `out`
    /// (cleared first).
    pub fn candidates(&self, event: &Value, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        for (path, by_value) in &self.keys {
            let r = path.resolve(event);
            match r.value() {
                Some(Value::String(s)) => {
                    if let Some(l) = by_value.get(s.as_str()) {
                        out.extend_from_slice(l);
                    }
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Some(l) = item.as_str().and_then(|s| by_value.get(s)) {
                            out.extend_from_slice(l);
                        }
                    }
                }
                _ => {}
            }
        }
        if !self.keys.is_empty() {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// Leaves program `id` out: it is never a candidate again.
    pub fn remove(&mut self, id: u32) {
        self.always.retain(|i| *i != id);
        for (_, m) in &mut self.keys {
            for l in m.values_mut() {
                l.retain(|i| *i != id);
            }
        }
    }

    /// The paths the index looks up (plain member paths).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.keys.iter().map(|(p, _)| p)
    }

    /// Whether some program is a candidate for every event.
    pub fn has_always(&self) -> bool {
        !self.always.is_empty()
    }

    /// How many programs are indexed (not always candidates).
    pub fn indexed(&self) -> usize {
        let mut all: Vec<u32> = self
            .keys
            .iter()
            .flat_map(|(_, m)| m.values().flatten().copied())
            .collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    }
}

/// The requirements found among the conjuncts of an implicit `All`.
fn conjuncts(nodes: &[Node]) -> Vec<Required<'_>> {
    nodes.iter().flat_map(required).collect()
}

/// Only plain member paths: a wildcard or index builds or picks values in
/// ways the lookup would have to repeat.
fn plain(path: &Path) -> bool {
    !path.segs.is_empty() && path.segs.iter().all(|s| matches!(s, Seg::Member { .. }))
}

/// What one node requires: every path whose value must be one of some
/// strings for it to hold (several for an `All`; for an `Any`, the paths
/// every branch requires, with the values of all branches).
fn required(node: &Node) -> Vec<Required<'_>> {
    match node {
        Node::Leaf(leaf) if !leaf.negate && plain(&leaf.path) => match leaf.base {
            Base::Equals => match &leaf.operand.value {
                Value::String(s) => vec![(&leaf.path, vec![s.as_str()])],
                _ => Vec::new(),
            },
            Base::In if leaf.operand.others.is_empty() => {
                vec![(&leaf.path, leaf.operand.strings.iter().map(|s| &**s).collect())]
            }
            _ => Vec::new(),
        },
        Node::Any(items) => {
            let branches: Vec<Vec<Required<'_>>> = items.iter().map(required).collect();
            let Some((first, rest)) = branches.split_first() else {
                return Vec::new();
            };
            first
                .iter()
                .filter_map(|(path, values)| {
                    let mut all = values.clone();
                    for b in rest {
                        let (_, v) = b.iter().find(|(p, _)| p.segs == path.segs)?;
                        all.extend(v);
                    }
                    Some((*path, all))
                })
                .collect()
        }
        Node::All(items) => conjuncts(items),
        _ => Vec::new(),
    }
}
