//! Where two documents differ: the check that the fast path and the
//! libyaml-safer path build the same tree.

use super::{Document, Node, NodeKind};

/// The first difference between two documents, as a path into the tree
/// with both sides (spans included), or `None` when they are identical.
/// Floats compare by their bits, so `.nan` equals itself.
#[doc(hidden)]
pub fn first_difference(a: &Document, b: &Document) -> Option<String> {
    match (&a.root, &b.root) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            if let Some(d) = node_difference(x, y, "$") {
                return Some(d);
            }
        }
        _ => return Some(format!("root: {:?} vs {:?}", a.root.is_some(), b.root.is_some())),
    }
    if a.duplicates != b.duplicates {
        return Some(format!("duplicates: {:?} vs {:?}", a.duplicates, b.duplicates));
    }
    if a.big_ints != b.big_ints {
        return Some(format!("big_ints: {:?} vs {:?}", a.big_ints, b.big_ints));
    }
    None
}

fn node_difference(a: &Node, b: &Node, path: &str) -> Option<String> {
    let mut stack = vec![(a, b, path.to_owned())];
    while let Some((a, b, path)) = stack.pop() {
        if a.span != b.span {
            return Some(format!("{path}: span {:?} vs {:?}", a.span, b.span));
        }
        let same = match (&a.kind, &b.kind) {
            (NodeKind::Float(x), NodeKind::Float(y)) => x.to_bits() == y.to_bits(),
            (NodeKind::Seq(x), NodeKind::Seq(y)) => {
                if x.len() != y.len() {
                    return Some(format!("{path}: {} items vs {}", x.len(), y.len()));
                }
                for (k, (i, j)) in x.iter().zip(y).enumerate().rev() {
                    stack.push((i, j, format!("{path}[{k}]")));
                }
                true
            }
            (NodeKind::Map(x), NodeKind::Map(y)) => {
                if x.len() != y.len() {
                    return Some(format!("{path}: {} entries vs {}", x.len(), y.len()));
                }
                for (k, ((ka, va), (kb, vb))) in x.iter().zip(y).enumerate().rev() {
                    let name = ka.key_text().unwrap_or_else(|| format!("#{k}"));
                    stack.push((va, vb, format!("{path}.{name}")));
                    stack.push((ka, kb, format!("{path}.{name} (key)")));
                }
                true
            }
            (x, y) => x == y,
        };
        if !same {
            return Some(format!(
                "{path}: {:?} at {:?} vs {:?} at {:?}",
                a.kind, a.span, b.kind, b.span
            ));
        }
    }
    None
}
