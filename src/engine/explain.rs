//! Explanations of an evaluation: the expression tree with each node's
//! verdict and the event values it saw (`detect test --explain`, and every
//! failing test). Only used for reports, so it may allocate.

use serde_json::Value;

use super::compile::{Leaf, Node, Quant};
use super::eval::{Mode, eval, leaf_positive, multi_positive};
use super::key_path::Resolved;

/// `✓` or `✗`.
pub fn mark(b: bool) -> &'static str {
    if b { "✓" } else { "✗" }
}

fn seen(r: &Resolved<'_>) -> String {
    match r.value() {
        None => "absent".to_owned(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn leaf_text(leaf: &Leaf) -> String {
    let operand = match &leaf.operand.value {
        Value::Null => String::new(),
        v => format!(" {v}"),
    };
    format!("{} {}{operand}", leaf.path.text, leaf.condition.name())
}

/// Appends the explanation of one node at `depth`.
pub fn node(n: &Node, event: &Value, mode: Mode, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let verdict = eval(n, event, mode);
    let group = |name: &str, items: &[Node], out: &mut Vec<String>| {
        out.push(format!("{pad}{} {name}", mark(verdict)));
        for i in items {
            node(i, event, mode, depth + 1, out);
        }
    };
    match n {
        Node::All(items) => group("All", items, out),
        Node::Any(items) => group("Any", items, out),
        Node::OnlyOne(items) => group("OnlyOne", items, out),
        Node::None(items) => group("None", items, out),
        Node::Leaf(leaf) => {
            let r = leaf.path.resolve(event);
            let note = if mode == Mode::Filter && r.is_absent() {
                " (absent: filters pass)"
            } else {
                ""
            };
            let _ = leaf_positive(leaf, &r);
            out.push(format!(
                "{pad}{} {} (saw {}){note}",
                mark(verdict),
                leaf_text(leaf),
                seen(&r)
            ));
        }
        Node::Multi {
            left,
            right,
            base,
            condition,
            ..
        } => {
            let (l, r) = (left.resolve(event), right.resolve(event));
            let _ = multi_positive(*base, &l, &r);
            out.push(format!(
                "{pad}{} {} {} {} (saw {} and {})",
                mark(verdict),
                left.text,
                condition.name(),
                right.text,
                seen(&l),
                seen(&r)
            ));
        }
        Node::Each { path, quant, body } => {
            let r = path.resolve(event);
            let q = match quant {
                Quant::Any => "AnyElement",
                Quant::All => "AllElements",
                Quant::One => "OnlyOneElement",
                Quant::No => "NoElement",
            };
            let n = match r.value() {
                Some(Value::Array(a)) => a.len(),
                _ => 0,
            };
            out.push(format!(
                "{pad}{} {} {q} over {n} element(s) (saw {})",
                mark(verdict),
                path.text,
                seen(&r)
            ));
            if let Some(Value::Array(items)) = r.value() {
                for (i, e) in items.iter().enumerate().take(10) {
                    let ok = body.iter().all(|b| eval(b, e, mode));
                    out.push(format!("{pad}  {} element {i}", mark(ok)));
                    for b in body.iter() {
                        node(b, e, mode, depth + 2, out);
                    }
                }
            }
        }
        Node::Const(b) => out.push(format!(
            "{pad}{} Always{}",
            mark(verdict),
            if *b { "True" } else { "False" }
        )),
    }
}
