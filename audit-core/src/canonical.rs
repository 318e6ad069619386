//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! Objects have their members sorted by the UTF-16 code units of their names, no white space
//! is written, strings use the minimal escaping of ECMAScript's `JSON.stringify`, and numbers
//! are written as ECMAScript writes a double.
//!
//! The form is written straight from any `Serialize` value ([`write_canonical`]); nothing builds
//! a `serde_json::Value` tree on the way.

mod writer;

use serde::Serialize;
use serde_json::Value;

pub use writer::CanonicalError;

/// Writes `value` in its RFC 8785 canonical form.
pub fn to_canonical_string(value: &Value) -> String {
    String::from_utf8(to_canonical_bytes(value)).unwrap_or_default()
}

/// The canonical form as bytes, ready for hashing.
pub fn to_canonical_bytes(value: &Value) -> Vec<u8> {
    // A `Value` always has a canonical form: its keys are strings and its numbers finite.
    to_canonical_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// The canonical form of any serializable value, as `serde_json::to_value` would see it.
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    write_canonical(value, &mut out)?;
    Ok(out)
}

/// Appends the canonical form of `value` to `out`.
pub fn write_canonical<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    writer::write(value, None, out)
}

/// Appends the canonical form of `value` without its top-level member `omit` (the chain hashes a
/// record without its `hash`).
pub fn write_canonical_omitting<T: Serialize + ?Sized>(
    value: &T,
    omit: &str,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    writer::write(value, Some(omit), out)
}

#[cfg(test)]
mod equivalence;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod speed;

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
