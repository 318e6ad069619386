//! Events as JSON text: what a dispatcher queues, spools and sends, and the JSON states a
//! recorder can keep as text instead of parsing them into trees.
//!
//! An [`AuditEvent`] with `before` and `after` as [`serde_json::Value`]s is the convenient
//! form. A recorder that already holds a state as JSON text (a response body, a row
//! serialized once) can skip the tree altogether: check the text once ([`RawJson`]), then
//! write it into the event as it is ([`EncodedEvent::with_raw`]).
//!
//! ```
//! use audit_core::{AuditEvent, EncodedEvent, JsonMember, RawJson};
//!
//! let after = RawJson::parse(r#"{"name":"greeting","prompt":"Hello"}"#.to_owned()).unwrap();
//! let event = AuditEvent::by_user("u_1", "prompt", "pr_9", "update");
//! let encoded = EncodedEvent::with_raw(event, &[(JsonMember::After, Some(&after))]);
//! let decoded = encoded.decode().unwrap();
//! assert_eq!(decoded.after, Some(serde_json::json!({ "name": "greeting", "prompt": "Hello" })));
//! assert_eq!(decoded.id, Some(encoded.id()));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::{AuditEvent, json_scan};

/// A JSON value kept as its text, checked to be well-formed JSON when made.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(String);

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RawJson {
    /// The deepest nesting of arrays and objects accepted, so that an event holding the value,
    /// and a batch holding the event, stay within what JSON readers take (serde_json, the
    /// service's, stops at 128 levels).
    pub const MAX_DEPTH: u32 = json_scan::MAX_DEPTH;

    /// `text` when it is one well-formed JSON value, nested at most [`RawJson::MAX_DEPTH`]
    /// levels (surrounding whitespace allowed).
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        RawJson::parse_flagging_keys(text, |_| false).map(|(json, _)| json)
    }

    /// `text` when it is one well-formed JSON value nested at most [`RawJson::MAX_DEPTH`]
    /// levels, and whether any object key in it, at any depth, satisfies `flag`: one pass over
    /// the text, without building a tree.
    pub fn parse_flagging_keys(
        text: String,
        mut flag: impl FnMut(&str) -> bool,
    ) -> Result<(Self, bool), serde_json::Error> {
        let flagged = match json_scan::scan(&text, &mut flag) {
            Some(flagged) => flagged,
            None => walk(&text, &mut flag)?,
        };
        Ok((RawJson(text), flagged))
    }

    /// `value` serialized (unchecked: [`RawJson::parse`] its text where the value may be
    /// nested deeper than [`RawJson::MAX_DEPTH`]).
    pub fn from_value(value: &Value) -> Self {
        RawJson(value.to_string())
    }

    /// `value` serialized, as `serde_json::to_string` would (e.g. a row a host holds): no tree
    /// is built on the way.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        // Room for a typical row, so that writing it rarely grows the buffer.
        let mut text = Vec::with_capacity(256);
        serde_json::to_writer(&mut text, value)?;
        // serde_json writes UTF-8.
        Ok(RawJson(String::from_utf8(text).unwrap_or_default()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The length of the text in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (never: the shortest JSON value is one byte).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value as a tree.
    pub fn to_value(&self) -> Value {
        // Checked when made, so it parses (but for a depth beyond serde_json's limit of 128,
        // which `parse` refused too).
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// Whether `text` is one well-formed JSON value and any object key in it satisfies `flag`,
/// by walking it with serde_json (without keeping it).
pub(crate) fn walk(text: &str, flag: &mut dyn FnMut(&str) -> bool) -> Result<bool, serde_json::Error> {
    let mut walk = Walk {
        flag,
        flagged: false,
        depth: 0,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    (&mut walk).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(walk.flagged)
}

/// Walks a JSON value without keeping it, flagging object keys and refusing nesting deeper
/// than [`RawJson::MAX_DEPTH`].
struct Walk<'f> {
    flag: &'f mut dyn FnMut(&str) -> bool,
    flagged: bool,
    depth: u32,
}

impl Walk<'_> {
    fn enter<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > RawJson::MAX_DEPTH {
            return Err(E::custom(format_args!(
                "nested deeper than {} levels",
                RawJson::MAX_DEPTH
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for &mut Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.enter()?;
        while seq.next_element_seed(&mut *self)?.is_some() {}
        self.depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.enter()?;
        while let Some(flagged) = map.next_key_seed(Key(&mut *self.flag))? {
            self.flagged |= flagged;
            map.next_value_seed(&mut *self)?;
        }
        self.depth -= 1;
        Ok(())
    }
}

/// An object key, flagged or not, read without allocating when it has no escapes.
struct Key<'f>(&'f mut dyn FnMut(&str) -> bool);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok((self.0)(key))
    }
}

/// A member of [`AuditEvent`] that holds any JSON, and so may be written from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonMember {
    /// `before`.
    Before,
    /// `after`.
    After,
    /// `metadata` (an object).
    Metadata,
}

impl JsonMember {
    /// The member's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            JsonMember::Before => "before",
            JsonMember::After => "after",
            JsonMember::Metadata => "metadata",
        }
    }
}

/// The bytes an event's fixed members take at most when written (keys, quotes, `id`,
/// `occurredAt`, `orgId`, `type` and roles), its strings and raw members aside.
const FIXED_MEMBERS_LEN: usize = 348;

/// How long `event` is when written, for one allocation of the right size: exact but for
/// strings that need escaping and for its own JSON members (it may then grow once).
fn estimated_len(event: &AuditEvent) -> usize {
    let optional = [
        &event.user_id,
        &event.api_key_id,
        &event.project_id,
        &event.ip_address,
        &event.user_agent,
        &event.request_id,
        &event.trace_id,
    ];
    FIXED_MEMBERS_LEN
        + event.resource_type.len()
        + event.resource_id.len()
        + event.action.len()
        + optional
            .iter()
            .filter_map(|text| text.as_ref())
            .map(String::len)
            .sum::<usize>()
}

/// An event serialized as the JSON the service takes, with its idempotency `id`: the form in
/// which a dispatcher queues, spools and sends events.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedEvent {
    id: Uuid,
    json: String,
}

impl fmt::Debug for EncodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json)
    }
}

impl EncodedEvent {
    /// `event` serialized, after giving it its UUIDv7 `id` if it had none.
    pub fn new(event: AuditEvent) -> Self {
        EncodedEvent::with_raw(event, &[])
    }

    /// `event` serialized with the members `raw` adds, each written as its text (`None`s are
    /// left out), after giving it its UUIDv7 `id` if it had none. The event's own value of a
    /// member that `raw` names gives way (e.g. `(JsonMember::After, Some(&text))` replaces
    /// `event.after`, and `(JsonMember::After, None)` leaves it out).
    pub fn with_raw(mut event: AuditEvent, raw: &[(JsonMember, Option<&RawJson>)]) -> Self {
        let id = event.ensure_id();
        for (member, _) in raw {
            match member {
                JsonMember::Before => event.before = None,
                JsonMember::After => event.after = None,
                JsonMember::Metadata => event.metadata = None,
            }
        }
        // Room for the event's usual members and the raw ones: written without growing.
        let raw_len = raw
            .iter()
            .filter_map(|(_, value)| value.map(|value| value.len() + 16))
            .sum::<usize>();
        let mut json = Vec::with_capacity(estimated_len(&event) + raw_len);
        // Serializing an `AuditEvent` into memory cannot fail: its maps have string keys.
        let _ = serde_json::to_writer(&mut json, &event);
        for (member, value) in raw {
            if let Some(value) = value {
                // The event serializes as an object of at least its required members: replace
                // its closing brace with one more member and the brace.
                json.pop();
                json.extend_from_slice(b",\"");
                json.extend_from_slice(member.name().as_bytes());
                json.extend_from_slice(b"\":");
                json.extend_from_slice(value.as_str().trim().as_bytes());
                json.push(b'}');
            }
        }
        EncodedEvent {
            id,
            json: String::from_utf8(json).unwrap_or_default(),
        }
    }

    /// An event as JSON text (e.g. read back from a spool), when it is an event with an `id`.
    pub fn from_json(json: &[u8]) -> Option<Self> {
        let json = std::str::from_utf8(json).ok()?.trim();
        let event = decode_readable(json).ok()?;
        Some(EncodedEvent {
            id: event.id?,
            json: json.into(),
        })
    }

    /// The event's idempotency key.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The event again.
    pub fn decode(&self) -> Result<AuditEvent, serde_json::Error> {
        serde_json::from_str(&self.json)
    }

    /// The event again, without any member nested too deep to be read back (serde_json, like
    /// the service's reader, stops at 128 levels; writing has no such limit): to report an
    /// event that the service refused for such a state.
    pub fn decode_readable(&self) -> Result<AuditEvent, serde_json::Error> {
        decode_readable(&self.json)
    }
}

fn decode_readable(json: &str) -> Result<AuditEvent, serde_json::Error> {
    let error = match serde_json::from_str(json) {
        Ok(event) => return Ok(event),
        Err(error) => error,
    };
    // Skipping over a value has no depth limit, reading it into a tree has.
    let Ok(members) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(json) else {
        return Err(error);
    };
    let readable = members
        .into_iter()
        .filter_map(|(name, value)| Some((name, serde_json::from_str(value.get()).ok()?)))
        .collect();
    serde_json::from_value(Value::Object(readable)).map_err(|_| error)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_flagged_at_any_depth_and_values_are_not_keys() {
        let flag = |text: &str| {
            RawJson::parse_flagging_keys(text.to_owned(), |key| key == "password").map(|(_, flagged)| flagged)
        };
        assert!(flag(r#"{"a":[{"b":{"password":1}}]}"#).unwrap());
        assert!(flag(r#"{"pass\u0077ord":"x"}"#).unwrap());
        assert!(!flag(r#"{"note":"password","list":["password"]}"#).unwrap());
        assert!(!flag(r#""password""#).unwrap());
        assert!(flag("{\"a\":1,").is_err());
        assert!(flag("{\"a\":1} x").is_err());
        assert!(flag(" [1, 2.5, null, true] ").is_ok());
    }

    #[test]
    fn text_nested_deeper_than_an_event_can_carry_is_refused() {
        let nested = |depth: u32| format!("{}{}", "[".repeat(depth as usize), "]".repeat(depth as usize));
        let object = |depth: u32| {
            format!(
                "{}1{}",
                r#"{"a":"#.repeat(depth as usize),
                "}".repeat(depth as usize)
            )
        };
        for text in [nested(RawJson::MAX_DEPTH), object(RawJson::MAX_DEPTH)] {
            let json = RawJson::parse(text).expect("the deepest accepted");
            let event = EncodedEvent::with_raw(
                AuditEvent::by_user("u_1", "prompt", "pr_9", "update"),
                &[(JsonMember::After, Some(&json))],
            );
            let batch = format!(r#"{{"events":[{}]}}"#, event.as_str());
            assert!(
                serde_json::from_str::<Value>(&batch).is_ok(),
                "a batch holding it reads back"
            );
        }
        for text in [nested(RawJson::MAX_DEPTH + 1), object(RawJson::MAX_DEPTH + 1)] {
            let error = RawJson::parse(text).unwrap_err();
            assert!(
                error.to_string().contains("nested deeper than 100 levels"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_state_too_deep_to_read_back_is_left_out_rather_than_the_event() {
        let mut deep = json!("bottom");
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let mut event = AuditEvent::by_user("u_1", "prompt", "pr_9", "update");
        event.before = Some(json!({ "name": "kept" }));
        event.after = Some(deep);
        let encoded = EncodedEvent::new(event);
        assert!(encoded.decode().is_err(), "serde_json reads at most 128 levels");
        let readable = encoded.decode_readable().unwrap();
        assert_eq!((readable.id, readable.after), (Some(encoded.id()), None));
        assert_eq!(readable.before, Some(json!({ "name": "kept" })));
        let spooled = EncodedEvent::from_json(encoded.as_str().as_bytes()).expect("still an event");
        assert_eq!(spooled.as_str(), encoded.as_str());
        assert!(EncodedEvent::from_json(br#"{"id":"not a uuid"}"#).is_none());
    }

    #[test]
    fn raw_members_read_back_as_the_event_with_those_values() {
        let mut event = AuditEvent::by_user("u_1", "prompt", "pr_9", "update");
        event.after = Some(json!("replaced"));
        event.ip_address = Some("203.0.113.7".into());
        let before = RawJson::parse(r#" {"name": "a\"b", "n": [1, 2]} "#.to_owned()).unwrap();
        let metadata = RawJson::from_value(&json!({ "method": "PATCH" }));
        let encoded = EncodedEvent::with_raw(
            event.clone(),
            &[
                (JsonMember::Before, Some(&before)),
                (JsonMember::After, None),
                (JsonMember::Metadata, Some(&metadata)),
            ],
        );

        let mut expected = event;
        expected.id = Some(encoded.id());
        expected.before = Some(json!({ "name": "a\"b", "n": [1, 2] }));
        expected.after = None;
        expected.metadata = Some(json!({ "method": "PATCH" }).as_object().unwrap().clone());
        assert_eq!(encoded.decode().unwrap(), expected);
        assert_eq!(
            EncodedEvent::from_json(encoded.as_str().as_bytes()),
            Some(encoded.clone())
        );
        assert_eq!(EncodedEvent::new(expected.clone()).decode().unwrap(), expected);
    }

    #[test]
    fn the_length_estimate_is_never_short_for_plain_strings() {
        let mut event = AuditEvent::by_user("u".repeat(256), "prompt", "p".repeat(256), "update");
        event.id = Some(Uuid::now_v7());
        event.occurred_at = Some(chrono::Utc::now());
        event.org_id = Some(Uuid::now_v7());
        event.api_key_id = Some("k".repeat(256));
        event.user_org_role = Some(crate::Role::Admin);
        event.user_project_role = Some(crate::Role::Member);
        event.project_id = Some("p".repeat(256));
        event.ip_address = Some("2001:db8::1".into());
        event.user_agent = Some("a".repeat(1024));
        event.request_id = Some("r".repeat(256));
        event.trace_id = Some("t".repeat(32));
        let written = serde_json::to_string(&event).unwrap().len();
        assert!(estimated_len(&event) >= written, "{written}");
        assert!(estimated_len(&event) < written + 64, "{written}");
    }
}
