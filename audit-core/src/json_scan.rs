//! A quick pass over JSON text that says "well-formed" only when sure, and which object keys
//! it holds: the common case of [`RawJson::parse_flagging_keys`](crate::RawJson), several
//! times faster than a walk through serde.
//!
//! It gives up (`None`) on whatever it does not handle itself, and the caller then asks
//! serde_json: `\u` escapes (surrogates need care), escaped keys, exponents and very long
//! numbers (serde_json refuses those out of `f64`'s range), nesting deeper than
//! [`MAX_DEPTH`], and of course anything malformed. So it never calls text JSON that serde_json
//! would refuse, which is what matters: the service parses every event with serde_json.

/// Deeper nesting is left to serde_json, and refused there (see [`RawJson::MAX_DEPTH`](crate::RawJson::MAX_DEPTH)).
pub(crate) const MAX_DEPTH: u32 = 100;

/// Integer parts longer than this are left to serde_json.
const MAX_INTEGER_DIGITS: usize = 18;

/// What the scanner expects next.
#[derive(Clone, Copy)]
enum Expect {
    /// A value.
    Value,
    /// A value or `]` (just after `[`).
    ValueOrEnd,
    /// A key or `}` (just after `{`).
    KeyOrEnd,
    /// A key (after `,` in an object).
    Key,
    /// `,` or the end of the enclosing container, or of the text.
    Next,
}

/// `Some(flagged)` when `text` is one well-formed JSON value (whether any object key
/// satisfies `flag`); `None` when it is malformed or when the scanner is not sure.
pub(crate) fn scan(text: &str, flag: &mut dyn FnMut(&str) -> bool) -> Option<bool> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut flagged = false;
    // Bit `d` is set when the container at depth `d` (from 1) is an object.
    let mut objects: u128 = 0;
    let mut depth: u32 = 0;
    let mut expect = Expect::Value;
    loop {
        at = skip_whitespace(bytes, at);
        let byte = bytes.get(at).copied();
        expect = match expect {
            Expect::Next => {
                let in_object = depth > 0 && objects & (1 << depth) != 0;
                match byte {
                    None if depth == 0 => return Some(flagged),
                    Some(b',') if depth > 0 => {
                        at += 1;
                        if in_object { Expect::Key } else { Expect::Value }
                    }
                    Some(b'}') if in_object => {
                        at += 1;
                        depth -= 1;
                        Expect::Next
                    }
                    Some(b']') if depth > 0 && !in_object => {
                        at += 1;
                        depth -= 1;
                        Expect::Next
                    }
                    _ => return None,
                }
            }
            Expect::KeyOrEnd if byte == Some(b'}') => {
                at += 1;
                depth -= 1;
                Expect::Next
            }
            Expect::KeyOrEnd | Expect::Key => {
                if byte != Some(b'"') {
                    return None;
                }
                let end = string_end(bytes, at + 1, false)?;
                flagged |= flag(text.get(at + 1..end)?);
                at = skip_whitespace(bytes, end + 1);
                if bytes.get(at) != Some(&b':') {
                    return None;
                }
                at += 1;
                Expect::Value
            }
            Expect::ValueOrEnd if byte == Some(b']') => {
                at += 1;
                depth -= 1;
                Expect::Next
            }
            Expect::Value | Expect::ValueOrEnd => match byte? {
                open @ (b'{' | b'[') => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    at += 1;
                    if open == b'{' {
                        objects |= 1 << depth;
                        Expect::KeyOrEnd
                    } else {
                        objects &= !(1 << depth);
                        Expect::ValueOrEnd
                    }
                }
                b'"' => {
                    at = string_end(bytes, at + 1, true)? + 1;
                    Expect::Next
                }
                first @ (b't' | b'f' | b'n') => {
                    let word: &[u8] = match first {
                        b't' => b"true",
                        b'f' => b"false",
                        _ => b"null",
                    };
                    if bytes.get(at..at + word.len())? != word {
                        return None;
                    }
                    at += word.len();
                    Expect::Next
                }
                b'-' | b'0'..=b'9' => {
                    at = number_end(bytes, at)?;
                    Expect::Next
                }
                _ => return None,
            },
        };
    }
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The index of the closing quote of the string whose contents start at `at`. Simple
/// escapes are allowed in values (`escapes`), none in keys; `\u` escapes and control
/// characters are left to serde_json.
fn string_end(bytes: &[u8], mut at: usize, escapes: bool) -> Option<usize> {
    loop {
        match *bytes.get(at)? {
            b'"' => return Some(at),
            b'\\' if escapes => match bytes.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                _ => return None,
            },
            b'\\' => return None,
            0..=0x1f => return None,
            _ => at += 1,
        }
    }
}

/// The index just past the number that starts at `at`: `-? (0 | [1-9][0-9]*) (. [0-9]+)?`,
/// with at most [`MAX_INTEGER_DIGITS`] integer digits and no exponent.
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count()
    };
    let integer = digits(at);
    if integer == 0 || integer > MAX_INTEGER_DIGITS || (integer > 1 && bytes[at] == b'0') {
        return None;
    }
    at += integer;
    if bytes.get(at) == Some(&b'.') {
        let fraction = digits(at + 1);
        if fraction == 0 {
            return None;
        }
        at += 1 + fraction;
    }
    match bytes.get(at) {
        Some(b'e' | b'E') => None,
        _ => Some(at),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::RawJson;

    fn flag(key: &str) -> bool {
        key.contains("pass")
    }

    /// serde_json's verdict, through the slow walk.
    fn serde(text: &str) -> Option<bool> {
        let mut flag = flag;
        crate::encoded::walk(text, &mut flag).ok()
    }

    fn quick(text: &str) -> Option<bool> {
        let mut flag = flag;
        scan(text, &mut flag)
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn value(&mut self, depth: u32) -> Value {
            const KEYS: [&str; 7] = ["id", "name", "password", "dbPassword", "a b", "é", ""];
            const TEXTS: [&str; 6] = [
                "",
                "plain",
                "with \"quotes\" and \\",
                "line\nbreak\t",
                "é 😀",
                "password",
            ];
            match self.below(if depth == 0 { 5 } else { 7 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => json!(self.below(2_000_000) as i64 - 1_000_000),
                3 => json!((self.below(200_000) as f64 - 100_000.0) / 64.0),
                4 => json!(TEXTS[self.below(TEXTS.len() as u64) as usize]),
                5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
                _ => {
                    let mut map = Map::new();
                    for _ in 0..self.below(4) {
                        let key = KEYS[self.below(KEYS.len() as u64) as usize];
                        map.insert(key.to_owned(), self.value(depth - 1));
                    }
                    Value::Object(map)
                }
            }
        }

        /// `text` with one byte inserted, removed or replaced by a JSON-ish one.
        fn mutate(&mut self, text: &str) -> String {
            const BYTES: &[u8] = b"{}[]\",:\\ 0-1.eEtfnu\t\x01a";
            let mut bytes = text.as_bytes().to_vec();
            let at = self.below(bytes.len() as u64 + 1) as usize;
            let byte = BYTES[self.below(BYTES.len() as u64) as usize];
            match self.below(3) {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ if at < bytes.len() => bytes[at] = byte,
                _ => bytes.push(byte),
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    #[test]
    fn it_never_accepts_what_serde_json_refuses_and_flags_the_same_keys() {
        let mut random = Random(0x2545_f491_4f6c_dd1d);
        let mut sure = 0;
        let mut mutants_accepted = 0;
        for _ in 0..4_000 {
            let value = random.value(4);
            for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
                // Generated values have no `\u` escapes, exponents or long numbers: the quick
                // pass must be sure of every one.
                assert_eq!(quick(&text), serde(&text), "{text}");
                assert!(quick(&text).is_some(), "{text}");
                sure += 1;
                for _ in 0..4 {
                    let mutant = random.mutate(&text);
                    if let Some(flagged) = quick(&mutant) {
                        assert_eq!(serde(&mutant), Some(flagged), "{mutant}");
                        mutants_accepted += 1;
                    }
                }
            }
        }
        assert_eq!(sure, 8_000);
        // Some mutants stay well-formed (a digit for a digit, a space added): they were checked.
        assert!(mutants_accepted > 1_000, "{mutants_accepted}");
    }

    #[test]
    fn what_it_leaves_to_serde_json_and_what_it_refuses() {
        for refused in [
            "",
            " ",
            "01",
            "-",
            "1.",
            ".5",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[",
            "]",
            "{\"a\" 1}",
            "{\"a\"}",
            "tru",
            "nul",
            "falsey",
            "\"\t\"",
            "[] []",
            "{1:2}",
            "\"open",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "}",
            "[}",
            "{]",
        ] {
            assert_eq!(quick(refused), None, "{refused:?}");
            assert_eq!(serde(refused), None, "{refused:?}");
        }
        // Well-formed, but left to serde_json.
        for unsure in [
            "\"\\u0041\"",
            "{\"pass\\u0077\":1}",
            "{\"a\\\"b\":1}",
            "1e5",
            "-2.5E-3",
            "12345678901234567890",
        ] {
            assert_eq!(quick(unsure), None, "{unsure:?}");
            assert!(serde(unsure).is_some(), "{unsure:?}");
        }
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(quick(&deep(100)), Some(false));
        assert_eq!(quick(&deep(101)), None);
        assert_eq!(
            quick(r#" {"x": [1, -0.5, true, null, {"passcode": "\n"}]} "#),
            Some(true)
        );
        // And through `RawJson`, which asks serde_json when unsure.
        let (_, flagged) = RawJson::parse_flagging_keys(r#"{"pass\u0077ord":1}"#.into(), flag).unwrap();
        assert!(flagged);
    }
}
