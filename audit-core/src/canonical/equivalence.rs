//! The writer against the reference `Value` implementation: byte-identical output on RFC 8785's
//! examples, on generated values (unicode, control characters, floats, deep nesting) and on
//! records and events, so every hash stored before the writer still verifies.

use chrono::{TimeZone, Utc};
use serde_json::{Map, Number, Value, json};
use uuid::Uuid;

use super::{reference, to_canonical_bytes, writer::utf16_order};
use crate::{ActorType, AuditEvent, AuditRecord, Role, chain};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            " ",
            "\"",
            "\\",
            "/",
            "\n",
            "\r",
            "\t",
            "\u{8}",
            "\u{c}",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "\u{80}",
            "é",
            "ö",
            "€",
            "\u{2028}",
            "\u{e000}",
            "\u{fb33}",
            "\u{ffff}",
            "😀",
            "\u{10000}",
            "\u{10ffff}",
            "日本",
            "key",
            "name",
        ];
        let len = self.below(8);
        (0..len)
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn number(&mut self) -> Number {
        match self.below(6) {
            0 => Number::from(self.next() as i64),
            1 => Number::from(self.next()),
            2 => Number::from(self.below(2000) as i64 - 1000),
            3 => Number::from_f64(f64::from_bits(self.next())).unwrap_or_else(|| Number::from(7)),
            4 => Number::from_f64((self.below(1_000_000) as f64 - 500_000.0) / 1000.0).unwrap(),
            _ => {
                Number::from_f64([0.0, -0.0, 1e21, 1e-7, 5e-324, f64::MAX, 0.1 + 0.2][self.below(7) as usize])
                    .unwrap()
            }
        }
    }

    fn value(&mut self, depth: u32) -> Value {
        let kinds = if depth == 0 { 4 } else { 6 };
        match self.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => Value::Number(self.number()),
            3 => Value::String(self.text()),
            4 => Value::Array((0..self.below(5)).map(|_| self.value(depth - 1)).collect()),
            _ => Value::Object(
                (0..self.below(7))
                    .map(|_| (self.text(), self.value(depth - 1)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

fn record(rng: &mut Rng) -> AuditRecord {
    let mut event = AuditEvent::by_user(rng.text(), "prompt", rng.text(), "update");
    event.id = Some(Uuid::from_u64_pair(rng.next(), rng.next()));
    event.user_org_role = Some(Role::Admin);
    event.project_id = (rng.below(2) == 0).then(|| rng.text());
    event.before = Some(rng.value(4));
    event.after = (rng.below(3) > 0).then(|| rng.value(4));
    event.ip_address = Some("203.0.113.7".to_owned());
    event.user_agent = (rng.below(2) == 0).then(|| rng.text());
    event.metadata = Some((0..rng.below(4)).map(|_| (rng.text(), rng.value(2))).collect());
    let created_at = Utc
        .timestamp_millis_opt(1_700_000_000_000 + rng.below(1 << 40) as i64)
        .unwrap();
    let mut record = AuditRecord::from_event(event, Uuid::from_u64_pair(1, 2), 42, created_at, None);
    record.actor_type = [ActorType::User, ActorType::ApiKey, ActorType::System][rng.below(3) as usize];
    record.seal(chain::GENESIS_HASH);
    record
}

/// What the chain hashed before the writer: the record as a `Value` without `hash`.
fn reference_content(record: &AuditRecord) -> String {
    let mut value = serde_json::to_value(record).unwrap();
    value.as_object_mut().unwrap().remove("hash");
    reference::to_canonical_string(&value)
}

#[test]
fn generated_values_are_written_as_the_reference_writes_them() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..5_000 {
        let value = rng.value(5);
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&value)).unwrap(),
            reference::to_canonical_string(&value),
            "{value:?}"
        );
    }
}

#[test]
fn rfc_8785_examples_match_the_reference() {
    for text in [
        r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}"#,
        r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",
            "1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control",
            "\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        r#"[56, {"d": true, "10": null, "1": []}]"#,
        r#"{"1": {"f": {"f": "hi", "F": 5}, "\n": 56.0}, "10": {}, "": "empty", "a": {},
            "111": [{"e": "yes", "E": "no"}], "A": {}}"#,
        r#"[1e-7, 1e21, 9007199254740993, -0, 0.1, 123456789012345680000, 5e-324]"#,
    ] {
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&value)).unwrap(),
            reference::to_canonical_string(&value)
        );
    }
}

#[test]
fn records_hash_exactly_as_before() {
    let mut rng = Rng(42);
    for _ in 0..2_000 {
        let record = record(&mut rng);
        let reference = reference_content(&record);
        assert_eq!(String::from_utf8(record.hashed_bytes()).unwrap(), reference);
        let old_hash = chain::sha256_hex(format!("{}{}", record.prev_hash, reference).as_bytes());
        assert_eq!(record.hash, old_hash);
        assert_eq!(
            record.compute_hash(),
            chain::chain_hash(&record.prev_hash, &record.hashed_content())
        );
    }
}

#[test]
fn event_fingerprints_are_unchanged() {
    let mut rng = Rng(7);
    for _ in 0..1_000 {
        let mut event = AuditEvent::by_api_key(rng.text(), rng.text(), rng.text(), rng.text());
        event.occurred_at = (rng.below(2) == 0).then(|| Utc.timestamp_millis_opt(1_700_000_000_123).unwrap());
        event.org_id = (rng.below(2) == 0).then(|| Uuid::from_u64_pair(3, 4));
        event.before = (rng.below(2) == 0).then(|| rng.value(3));
        event.after = Some(rng.value(3));
        event.user_project_role = Some(Role::Viewer);
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(
            event.content_fingerprint(),
            chain::sha256_hex(reference::to_canonical_string(&value).as_bytes())
        );
    }
}

#[test]
fn utf16_order_matches_comparing_code_units() {
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let (a, b) = (rng.text(), rng.text());
        assert_eq!(
            utf16_order(&a, &b),
            a.encode_utf16().cmp(b.encode_utf16()),
            "{a:?} {b:?}"
        );
    }
    assert_eq!(
        utf16_order("\u{ffff}", "\u{10000}"),
        std::cmp::Ordering::Greater,
        "a surrogate pair sorts before U+FFFF"
    );
}

#[test]
fn a_top_level_member_can_be_left_out_and_nested_ones_stay() {
    let value = json!({"hash": 1, "b": {"hash": 2}, "a": [{"hash": 3}]});
    let mut out = Vec::new();
    super::write_canonical_omitting(&value, "hash", &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"a":[{"hash":3}],"b":{"hash":2}}"#
    );
}
