//! The canonical form written straight from any `Serialize` value: no `serde_json::Value` tree
//! is built, members are written once and only reordered when they are not already sorted.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// Why a value has no canonical form (a map key that is not a string, or a `Serialize`
/// implementation that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalError(String);

impl fmt::Display for CanonicalError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for CanonicalError {}

impl ser::Error for CanonicalError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        CanonicalError(message.to_string())
    }
}

/// Appends the canonical form of `value` to `out`, leaving out the top-level member named
/// `omit` (as the chain leaves out `hash`). On error `out` may hold a partial value.
pub(super) fn write<T: Serialize + ?Sized>(
    value: &T,
    omit: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    value.serialize(Writer { out, omit })
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// A member left out of the object this writer writes (top level only).
    omit: Option<&'a str>,
}

impl<'a> Writer<'a> {
    fn nested(out: &'a mut Vec<u8>) -> Self {
        Writer { out, omit: None }
    }

    /// `{"variant":` — the start of serde's externally tagged enum variants.
    fn open_variant(&mut self, variant: &str) {
        self.out.push(b'{');
        write_string(variant, self.out);
        self.out.push(b':');
    }
}

impl<'a> ser::Serializer for Writer<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, value: bool) -> Result<(), CanonicalError> {
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, value: i8) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_i16(self, value: i16) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_i32(self, value: i32) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_i64(self, value: i64) -> Result<(), CanonicalError> {
        // Numbers are IEEE doubles in RFC 8785: large integers round as in ECMAScript.
        self.serialize_f64(value as f64)
    }

    fn serialize_i128(self, value: i128) -> Result<(), CanonicalError> {
        self.serialize_f64(value as f64)
    }

    fn serialize_u8(self, value: u8) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_u16(self, value: u16) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_u32(self, value: u32) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_u64(self, value: u64) -> Result<(), CanonicalError> {
        self.serialize_f64(value as f64)
    }

    fn serialize_u128(self, value: u128) -> Result<(), CanonicalError> {
        self.serialize_f64(value as f64)
    }

    fn serialize_f32(self, value: f32) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(value))
    }

    fn serialize_f64(self, value: f64) -> Result<(), CanonicalError> {
        if value.is_finite() {
            write_double(value, self.out);
        } else {
            // What `serde_json::to_value` makes of NaN and the infinities.
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), CanonicalError> {
        write_string(value.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }

    fn serialize_str(self, value: &str) -> Result<(), CanonicalError> {
        write_string(value, self.out);
        Ok(())
    }

    fn serialize_bytes(self, value: &[u8]) -> Result<(), CanonicalError> {
        use ser::SerializeSeq;
        let mut array = self.serialize_seq(Some(value.len()))?;
        for byte in value {
            array.serialize_element(byte)?;
        }
        array.end()
    }

    fn serialize_none(self) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), CanonicalError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), CanonicalError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CanonicalError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        self.open_variant(variant);
        value.serialize(Writer::nested(&mut *self.out))?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, CanonicalError> {
        self.out.push(b'[');
        Ok(Array {
            out: self.out,
            first: true,
            in_variant: false,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Array<'a>, CanonicalError> {
        self.open_variant(variant);
        let mut array = Writer::nested(self.out).serialize_seq(Some(len))?;
        array.in_variant = true;
        Ok(array)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::open(self.out, self.omit, false))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::open(self.out, self.omit, false))
    }

    fn serialize_struct_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a>, CanonicalError> {
        self.open_variant(variant);
        Ok(Object::open(self.out, None, true))
    }
}

/// An array being written.
struct Array<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// Inside `{"variant":` (a tuple variant), which `end` closes too.
    in_variant: bool,
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Writer::nested(&mut *self.out))
    }

    fn close(self) -> Result<(), CanonicalError> {
        self.out.push(b']');
        if self.in_variant {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeSeq for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeTuple for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeTupleStruct for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeTupleVariant for Array<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        self.element(value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

/// One member written so far: its name (a range of `Object::names`) and its `"name":value`
/// text (a range of the output).
struct Member {
    name: (usize, usize),
    text: (usize, usize),
}

/// An object being written. Members are written in the order they come, separated by commas;
/// `end` reorders them by name only if that order is not already the canonical one.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    omit: Option<&'a str>,
    /// Where the first member starts (after `{`).
    start: usize,
    /// The unescaped member names, one after the other.
    names: String,
    members: Vec<Member>,
    /// The name given to `serialize_key`, waiting for its value.
    pending_name: Option<(usize, usize)>,
    /// Inside `{"variant":` (a struct variant), which `end` closes too.
    in_variant: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>, omit: Option<&'a str>, in_variant: bool) -> Self {
        out.push(b'{');
        let start = out.len();
        Object {
            out,
            omit,
            start,
            names: String::new(),
            members: Vec::new(),
            pending_name: None,
            in_variant,
        }
    }

    /// Writes the member whose name is `names[name.0..name.1]`.
    fn member<T: Serialize + ?Sized>(
        &mut self,
        name: (usize, usize),
        value: &T,
    ) -> Result<(), CanonicalError> {
        let text = &self.names[name.0..name.1];
        if self.omit == Some(text) {
            self.names.truncate(name.0);
            return Ok(());
        }
        if !self.members.is_empty() {
            self.out.push(b',');
        }
        let begin = self.out.len();
        write_string(text, self.out);
        self.out.push(b':');
        value.serialize(Writer::nested(&mut *self.out))?;
        self.members.push(Member {
            name,
            text: (begin, self.out.len()),
        });
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), CanonicalError> {
        let begin = self.names.len();
        self.names.push_str(key);
        self.member((begin, self.names.len()), value)
    }

    fn close(self) -> Result<(), CanonicalError> {
        let Object {
            out,
            start,
            names,
            mut members,
            in_variant,
            ..
        } = self;
        let name = |member: &Member| &names[member.name.0..member.name.1];
        let sorted = members
            .windows(2)
            .all(|pair| utf16_order(name(&pair[0]), name(&pair[1])) != Ordering::Greater);
        if !sorted {
            let written = out[start..].to_vec();
            out.truncate(start);
            members.sort_by(|a, b| utf16_order(name(a), name(b)));
            for (index, member) in members.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&written[member.text.0 - start..member.text.1 - start]);
            }
        }
        out.push(b'}');
        if in_variant {
            out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), CanonicalError> {
        let begin = self.names.len();
        key.serialize(KeyWriter {
            names: &mut self.names,
        })?;
        self.pending_name = Some((begin, self.names.len()));
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CanonicalError> {
        let name = self
            .pending_name
            .take()
            .ok_or_else(|| CanonicalError("a map value came without its key".to_owned()))?;
        self.member(name, value)
    }

    fn end(self) -> Result<(), CanonicalError> {
        self.close()
    }
}

/// Writes a map key as text, as `serde_json` turns keys into member names: strings as they
/// are, numbers and booleans as their JSON text; anything else has no name.
struct KeyWriter<'a> {
    names: &'a mut String,
}

fn not_a_name() -> CanonicalError {
    CanonicalError("a map key must be a string".to_owned())
}

impl KeyWriter<'_> {
    fn display(self, value: impl fmt::Display) -> Result<(), CanonicalError> {
        use fmt::Write;
        write!(self.names, "{value}").map_err(|_| not_a_name())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Impossible<(), CanonicalError>;
    type SerializeTuple = Impossible<(), CanonicalError>;
    type SerializeTupleStruct = Impossible<(), CanonicalError>;
    type SerializeTupleVariant = Impossible<(), CanonicalError>;
    type SerializeMap = Impossible<(), CanonicalError>;
    type SerializeStruct = Impossible<(), CanonicalError>;
    type SerializeStructVariant = Impossible<(), CanonicalError>;

    fn serialize_str(self, value: &str) -> Result<(), CanonicalError> {
        self.names.push_str(value);
        Ok(())
    }

    fn serialize_char(self, value: char) -> Result<(), CanonicalError> {
        self.names.push(value);
        Ok(())
    }

    fn serialize_bool(self, value: bool) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_i8(self, value: i8) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_i16(self, value: i16) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_i32(self, value: i32) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_i64(self, value: i64) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_i128(self, value: i128) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_u8(self, value: u8) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_u16(self, value: u16) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_u32(self, value: u32) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_u64(self, value: u64) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_u128(self, value: u128) -> Result<(), CanonicalError> {
        self.display(value)
    }

    fn serialize_f32(self, _value: f32) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_f64(self, _value: f64) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_bytes(self, _value: &[u8]) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_none(self) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_unit(self) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), CanonicalError> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, CanonicalError> {
        Err(not_a_name())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CanonicalError> {
        Err(not_a_name())
    }
}

/// Orders names by their UTF-16 code units, as RFC 8785 sorts members. UTF-8 byte order is
/// code point order, which agrees with UTF-16 order except between U+E000–U+FFFF and the
/// supplementary planes; only names that differ first there take the slow comparison.
pub(super) fn utf16_order(a: &str, b: &str) -> Ordering {
    let (left, right) = (a.as_bytes(), b.as_bytes());
    let common = left.iter().zip(right).take_while(|(x, y)| x == y).count();
    match (left.get(common), right.get(common)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        // Lead bytes below 0xEE start code points below U+E000; a difference in a continuation
        // byte is between code points of the same kind.
        (Some(x), Some(y)) if *x < 0xEE && *y < 0xEE => x.cmp(y),
        _ => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// Writes a double as ECMAScript's `Number.prototype.toString` does (both zeros as `0`).
pub(super) fn write_double(double: f64, out: &mut Vec<u8>) {
    if double == 0.0 {
        out.push(b'0');
    } else {
        let mut buffer = ryu_js::Buffer::new();
        out.extend_from_slice(buffer.format_finite(double).as_bytes());
    }
}

/// Which bytes `JSON.stringify` escapes: the control characters, `"` and `\\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Writes a string with `JSON.stringify`'s minimal escaping, copying runs of characters that
/// need none at once.
pub(super) fn write_string(text: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|byte| ESCAPED[usize::from(*byte)]) {
        out.extend_from_slice(&rest[..at]);
        let byte = rest[at];
        rest = &rest[at + 1..];
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0F)]);
            }
        }
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}
