//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Objects have their members sorted by the UTF-16 code units of their names, no white space
//! is written, strings use the minimal escaping of ECMAScript's `JSON.stringify`, and numbers
//! are written as ECMAScript writes a double.

use serde_json::Value;

/// Writes `value` in its RFC 8785 canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// The canonical form as bytes, ready for hashing.
pub fn to_canonical_bytes(value: &Value) -> Vec<u8> {
    to_canonical_string(value).into_bytes()
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, (name, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(member, out);
            }
            out.push('}');
        }
    }
}

fn write_number(number: &serde_json::Number, out: &mut String) {
    if let Some(integer) = number.as_i64() {
        write_double(integer as f64, out);
    } else if let Some(integer) = number.as_u64() {
        write_double(integer as f64, out);
    } else if let Some(double) = number.as_f64() {
        write_double(double, out);
    }
}

fn write_double(double: f64, out: &mut String) {
    if double == 0.0 {
        // Both zeros are written as 0, as ECMAScript does.
        out.push('0');
    } else {
        let mut buffer = ryu_js::Buffer::new();
        out.push_str(buffer.format_finite(double));
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", control as u32));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_sorted_by_utf16_code_units() {
        // RFC 8785 section 3.2.3's sorting example.
        let value: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let expected_order = ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"];
        let canonical = to_canonical_string(&value);
        let positions: Vec<usize> = expected_order
            .iter()
            .map(|name| canonical.find(&to_canonical_string(&json!(name))).unwrap())
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{canonical}");
    }

    #[test]
    fn rfc_8785_primitive_example() {
        // RFC 8785 section 3.2.2.
        let value: Value = serde_json::from_str(
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals": [null, true, false]}"#,
        )
        .unwrap();
        assert_eq!(
            to_canonical_string(&value),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn integers_and_negative_zero() {
        assert_eq!(
            to_canonical_string(&json!([0, -0.0, 1, -7, 100.0, 9007199254740991i64])),
            "[0,0,1,-7,100,9007199254740991]"
        );
    }
}
