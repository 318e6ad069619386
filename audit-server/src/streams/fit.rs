//! Shrinking one event that alone exceeds a destination's per-log limit: the largest strings
//! are cut (or, when no single string is large enough, the largest object or array is replaced)
//! and end in a marker naming how many bytes were left out. Short values (the record's `id`,
//! `seq`, `hash`, times, actor) are never the largest, so they stay and the receiver can fetch
//! the whole record by its id (`GET /api/v1/audit-logs/{id}`) and check it against its hash.

use serde_json::Value;

/// The text that ends a cut value.
fn marker(left_out: usize) -> String {
    format!("…[truncated {left_out} bytes]")
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

/// The largest child of a container, by serialized size.
fn largest_child(value: &mut Value) -> Option<&mut Value> {
    let children: Box<dyn Iterator<Item = &mut Value> + '_> = match value {
        Value::Object(members) => Box::new(members.values_mut()),
        Value::Array(items) => Box::new(items.iter_mut()),
        _ => return None,
    };
    children.max_by_key(|child| json_len(child))
}

/// Takes at least `excess` bytes out of `value` (a container) in one cut; `false` when nothing
/// in it is large enough to cut.
fn cut(value: &mut Value, excess: usize) -> bool {
    let Some(child) = largest_child(value) else {
        return false;
    };
    let size = json_len(child);
    let room = marker(size).len() + 2;
    if size <= excess + room {
        return false;
    }
    if let Value::String(text) = child {
        let mut keep = text.len().saturating_sub(excess + room);
        while !text.is_char_boundary(keep) {
            keep -= 1;
        }
        let left_out = text.len() - keep;
        text.truncate(keep);
        text.push_str(&marker(left_out));
        return true;
    }
    if cut(child, excess) {
        return true;
    }
    *child = Value::String(marker(size));
    true
}

/// `event` made to serialize to at most `max_bytes` (as far as cutting its large values can);
/// unchanged when it fits.
pub fn fit(event: &Value, max_bytes: usize) -> Value {
    let mut event = event.clone();
    for _ in 0..64 {
        let size = json_len(&event);
        if size <= max_bytes || !cut(&mut event, size - max_bytes) {
            break;
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_large_string_is_cut_and_short_fields_are_kept() {
        let event = json!({"id": "r1", "seq": 7, "after": {"body": "x".repeat(10_000)}});
        let fitted = fit(&event, 2_000);
        assert!(json_len(&fitted) <= 2_000, "{}", json_len(&fitted));
        assert_eq!(fitted["id"], "r1");
        assert_eq!(fitted["seq"], 7);
        let body = fitted["after"]["body"].as_str().unwrap();
        assert!(body.starts_with("xxx") && body.contains("[truncated "), "{body}");
    }

    #[test]
    fn many_small_values_are_replaced_by_a_marker() {
        let event = json!({"id": "r1", "before": (0..5_000).collect::<Vec<_>>()});
        let fitted = fit(&event, 1_000);
        assert!(json_len(&fitted) <= 1_000);
        assert_eq!(fitted["id"], "r1");
        assert!(fitted["before"].as_str().unwrap().contains("[truncated "));
    }

    #[test]
    fn an_event_that_fits_is_unchanged() {
        let event = json!({"id": "r1", "after": "é".repeat(100)});
        assert_eq!(fit(&event, 10_000), event);
    }
}
