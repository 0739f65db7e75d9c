//! Builds the spanned [`Node`] tree from [`Event`]s: scalar typing, big
//! integers, duplicate keys, anchors and aliases, merge keys, and the
//! depth and size limits. Both parsers feed it, so a tree cannot depend on
//! which one read the text.

use std::collections::HashMap;

use super::event::Event;
use super::{
    Document, DuplicateKey, MAX_ALIAS_BYTES, MAX_DEPTH, MAX_NODES, Node, NodeKind, YamlError, error, resolve_int,
    resolve_plain,
};
use crate::source::Span;

enum Frame {
    Seq {
        start: Span,
        anchor: Option<String>,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: Option<String>,
        map: MapBuilder,
    },
}

/// Mappings up to this size find duplicate keys by scanning; larger ones
/// keep an index. Nearly every mapping in a detection file is small; a
/// rule's top level has about 20 keys, and comparing short strings is
/// cheaper than copying each key into an index (10 % of `test`'s CPU on
/// 10,000 generated rules when the index started at 16 keys).
const INDEX_FROM: usize = 64;

#[derive(Default)]
struct MapBuilder {
    entries: Vec<(Node, Node)>,
    index: HashMap<String, usize>,
    merged: Vec<bool>,
    pending: Option<Node>,
}

/// Whether two keys stand for the same text, without allocating for the
/// usual string keys.
fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Str(x), NodeKind::Str(y)) => x == y,
        (NodeKind::Seq(_) | NodeKind::Map(_), _) | (_, NodeKind::Seq(_) | NodeKind::Map(_)) => false,
        _ => a.key_text() == b.key_text(),
    }
}

impl MapBuilder {
    fn find(&self, key: &Node) -> Option<usize> {
        if self.entries.len() < INDEX_FROM {
            return self.entries.iter().position(|(k, _)| same_key(k, key));
        }
        self.index.get(&key.key_text()?).copied()
    }

    fn insert(&mut self, key: Node, value: Node, merged: bool, dups: &mut Vec<DuplicateKey>) {
        if let Some(i) = self.find(&key) {
            if merged {
                // Explicit keys win over merged ones, whatever the order.
                return;
            }
            if !self.merged[i] {
                let text = key.key_text().unwrap_or_default();
                dups.push(DuplicateKey {
                    key: text,
                    span: key.span,
                    first: self.entries[i].0.span,
                });
            }
            self.entries[i] = (key, value);
            self.merged[i] = false;
            return;
        }
        if self.entries.len() + 1 == INDEX_FROM {
            for (i, (k, _)) in self.entries.iter().enumerate() {
                if let Some(t) = k.key_text() {
                    self.index.entry(t).or_insert(i);
                }
            }
        }
        if self.entries.len() + 1 >= INDEX_FROM {
            if let Some(t) = key.key_text() {
                self.index.insert(t, self.entries.len());
            }
        }
        self.entries.push((key, value));
        self.merged.push(merged);
    }
}

/// The number of values of a tree and the bytes of its string scalars:
/// what one alias of it copies.
fn measure(n: &Node) -> (usize, usize) {
    let (mut count, mut bytes) = (0usize, 0usize);
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.kind {
            NodeKind::Seq(items) => stack.extend(items),
            NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| stack.extend([k, v])),
            NodeKind::Str(s) => bytes = bytes.saturating_add(s.len()),
            _ => {}
        }
    }
    (count, bytes)
}

/// The tree under construction.
#[derive(Default)]
pub(crate) struct Builder {
    doc: Document,
    stack: Vec<Frame>,
    anchors: HashMap<String, (Node, usize, usize)>,
    nodes: usize,
    alias_bytes: usize,
    documents: usize,
}

impl Builder {
    /// Adds one event at its span.
    ///
    /// # Errors
    /// A second document, nesting deeper than [`MAX_DEPTH`], an alias of
    /// no anchor, or more than [`MAX_NODES`] values or [`MAX_ALIAS_BYTES`]
    /// of aliased text.
    pub(crate) fn event(&mut self, ev: Event<'_>, sp: Span) -> Result<(), YamlError> {
        let doc = &mut self.doc;
        let (node, anchor) = match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(error(
                        sp,
                        "a detection file holds one YAML document; found a second one",
                    ));
                }
                return Ok(());
            }
            Event::SequenceStart { .. } | Event::MappingStart { .. } if self.stack.len() >= MAX_DEPTH => {
                return Err(error(
                    sp,
                    format!("values are nested more than {MAX_DEPTH} levels deep"),
                ));
            }
            Event::SequenceStart { anchor } => {
                self.stack.push(Frame::Seq {
                    start: sp,
                    anchor,
                    items: Vec::new(),
                });
                return Ok(());
            }
            Event::MappingStart { anchor } => {
                self.stack.push(Frame::Map {
                    start: sp,
                    anchor,
                    map: MapBuilder::default(),
                });
                return Ok(());
            }
            Event::End => match self.stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    mut items,
                }) => (
                    Node {
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                        kind: NodeKind::Seq({
                            // Trees are kept for the whole run: no spare capacity.
                            items.shrink_to_fit();
                            items
                        }),
                    },
                    anchor,
                ),
                Some(Frame::Map { start, anchor, map }) => (
                    Node {
                        span: Span {
                            start: start.start,
                            end: sp.end,
                        },
                        kind: NodeKind::Map({
                            let mut entries = map.entries;
                            entries.shrink_to_fit();
                            entries
                        }),
                    },
                    anchor,
                ),
                None => return Ok(()),
            },
            Event::Scalar { value, typed, anchor } => {
                let kind = if typed {
                    let kind = resolve_plain(&value);
                    if matches!(kind, NodeKind::Float(_)) && resolve_int(&value).is_some() {
                        doc.big_ints.push(sp);
                    }
                    kind
                } else {
                    NodeKind::Str(match value {
                        std::borrow::Cow::Owned(mut s) => {
                            s.shrink_to_fit();
                            s.into()
                        }
                        std::borrow::Cow::Borrowed(s) => s.into(),
                    })
                };
                (Node { span: sp, kind }, anchor)
            }
            Event::Alias { anchor } => {
                let Some((node, size, bytes)) = self.anchors.get(&anchor) else {
                    return Err(error(sp, format!("alias `*{anchor}` names no anchor")));
                };
                self.nodes = self.nodes.saturating_add(*size);
                if self.nodes > MAX_NODES {
                    return Err(error(sp, format!("aliases expand to more than {MAX_NODES} values")));
                }
                self.alias_bytes = self.alias_bytes.saturating_add(*bytes);
                if self.alias_bytes > MAX_ALIAS_BYTES {
                    return Err(error(
                        sp,
                        format!(
                            "aliases copy more than {} MiB of text (alias `*{anchor}` copies {} bytes)",
                            MAX_ALIAS_BYTES >> 20,
                            bytes
                        ),
                    ));
                }
                if matches!(node.kind, NodeKind::Float(_)) && doc.big_ints.contains(&node.span) {
                    doc.big_ints.push(sp);
                }
                let mut n = node.clone();
                n.span = sp;
                (n, None)
            }
        };
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(error(sp, format!("the document has more than {MAX_NODES} values")));
        }
        if let Some(name) = anchor {
            let (size, bytes) = measure(&node);
            self.anchors.insert(name, (node.clone(), size, bytes));
        }
        match self.stack.last_mut() {
            None => doc.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { map, .. }) => match map.pending.take() {
                None => map.pending = Some(node),
                Some(key) => {
                    if key.as_str() == Some("<<") && is_mergeable(&node) {
                        merge(map, node, &mut doc.duplicates);
                    } else {
                        map.insert(key, node, false, &mut doc.duplicates);
                    }
                }
            },
        }
        Ok(())
    }

    /// The document built so far.
    pub(crate) fn finish(self) -> Document {
        self.doc
    }
}

fn is_mergeable(n: &Node) -> bool {
    match &n.kind {
        NodeKind::Map(_) => true,
        NodeKind::Seq(items) => !items.is_empty() && items.iter().all(|i| i.as_map().is_some()),
        _ => false,
    }
}

fn merge(map: &mut MapBuilder, value: Node, dups: &mut Vec<DuplicateKey>) {
    let sources = match value.kind {
        NodeKind::Map(entries) => vec![entries],
        NodeKind::Seq(items) => items
            .into_iter()
            .filter_map(|i| match i.kind {
                NodeKind::Map(e) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for entries in sources {
        for (k, v) in entries {
            map.insert(k, v, true, dups);
        }
    }
}
