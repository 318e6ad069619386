//! A JSON value read from stored text that borrows its strings from the text: what
//! `serde_json::Value` holds, without allocating a `String` per string or a `BTreeMap` node per
//! member.
//!
//! It serializes exactly as the `Value` parsed from the same text does: numbers keep the kind
//! serde_json parsed them as (`u64`, `i64` or `f64`), and object members come out sorted by
//! their names' bytes with the last of duplicate names kept (the order and choice of `Value`'s
//! `BTreeMap`). So `serde_json::to_writer` writes the same bytes as for the `Value`, and
//! [`canonical`](crate::canonical) writes the same canonical form.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One JSON value, borrowing from the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTree<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer that fits `u64`.
    U64(u64),
    /// A negative integer that fits `i64`.
    I64(i64),
    /// Any other number.
    F64(f64),
    /// A string, borrowed unless it held escapes.
    Str(Cow<'a, str>),
    /// An array.
    Array(Vec<JsonTree<'a>>),
    /// An object: members sorted by name (bytewise), names unique.
    Object(Vec<(Cow<'a, str>, JsonTree<'a>)>),
}

impl<'a> JsonTree<'a> {
    /// Parses `text` as serde_json does (same limits, same errors).
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, JsonTree::Object(_))
    }

    /// Appends the compact JSON text serde_json writes for the equivalent `Value`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and every number here is finite.
        let _ = serde_json::to_writer(out, self);
    }
}

impl Serialize for JsonTree<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            JsonTree::Null => serializer.serialize_unit(),
            JsonTree::Bool(value) => serializer.serialize_bool(*value),
            JsonTree::U64(value) => serializer.serialize_u64(*value),
            JsonTree::I64(value) => serializer.serialize_i64(*value),
            JsonTree::F64(value) => serializer.serialize_f64(*value),
            JsonTree::Str(text) => serializer.serialize_str(text),
            JsonTree::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            JsonTree::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (name, value) in members {
                    map.serialize_entry(name.as_ref(), value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for JsonTree<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

/// A string the deserializer gives borrowed when it can.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(value)))
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = JsonTree<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonTree::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(JsonTree::Bool(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(JsonTree::U64(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        // serde_json gives non-negative integers as u64; keep the kind `Value` would hold.
        Ok(match u64::try_from(value) {
            Ok(value) => JsonTree::U64(value),
            Err(_) => JsonTree::I64(value),
        })
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(if value.is_finite() {
            JsonTree::F64(value)
        } else {
            JsonTree::Null
        })
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(JsonTree::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(JsonTree::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(JsonTree::Str(Cow::Owned(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(JsonTree::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(Cow<'de, str>, JsonTree<'de>)> = Vec::new();
        while let Some((Text(name), value)) = map.next_entry::<Text<'de>, JsonTree<'de>>()? {
            members.push((name, value));
        }
        // Stable: among equal names the last stays last, and is the one kept.
        members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut unique: Vec<(Cow<'de, str>, JsonTree<'de>)> = Vec::with_capacity(members.len());
        for member in members {
            match unique.last_mut() {
                Some(last) if last.0 == member.0 => *last = member,
                _ => unique.push(member),
            }
        }
        Ok(JsonTree::Object(unique))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical;
    use serde_json::Value;

    const TEXTS: &[&str] = &[
        "null",
        "true",
        "0",
        "-0",
        "-0.0",
        "1.0",
        "1e300",
        "-1e-300",
        "12345678901234567890",
        "123456789012345678901234",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "3.141592653589793",
        "5e-324",
        r#""plain""#,
        r#""esc \" \\ \n \t \u0001 \u00e9 \ud83d\ude00 /""#,
        r#"{"b":1,"a":2,"aa":3,"B":4,"é":5,"z":{"y":[1,{"k":null,"j":"x"}]}}"#,
        r#"{"b": 1, "a": 2, "aa": 3, "bb": [1.0, 2.50, -0]}"#,
        r#"{"a":1,"a":2,"b":{"x":1,"x":{"q":3}}}"#,
        r#"{"\u0061b":1,"a\"":2,"a":3,"\ud83d\ude00":4,"\uffff":5}"#,
        "[]",
        "{}",
        r#"[{"name":"greeting","prompt":"Hi,\nthere","n":[1,2.5,null],"ü":"€"}]"#,
    ];

    #[test]
    fn writes_what_a_value_writes() {
        for text in TEXTS {
            let value: Value = serde_json::from_str(text).unwrap();
            let tree = JsonTree::parse(text).unwrap();
            let mut written = Vec::new();
            tree.write_json(&mut written);
            assert_eq!(
                String::from_utf8(written).unwrap(),
                serde_json::to_string(&value).unwrap(),
                "{text}"
            );
            assert_eq!(
                canonical::to_canonical_vec(&tree).unwrap(),
                canonical::to_canonical_bytes(&value),
                "canonical form of {text}"
            );
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "nul", "1 2", "\"\\x\""] {
            assert!(serde_json::from_str::<Value>(text).is_err());
            assert!(JsonTree::parse(text).is_err(), "{text}");
        }
    }
}
