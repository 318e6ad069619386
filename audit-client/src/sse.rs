//! An incremental parser of server-sent events (the WHATWG event-stream format): bytes in,
//! complete events out, whatever the chunk boundaries.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SseEvent {
    /// The `event` field (`message` when absent).
    pub(crate) event: Option<String>,
    /// The `id` field, if this event set one.
    pub(crate) id: Option<String>,
    /// The `data` lines, joined by newlines.
    pub(crate) data: String,
}

/// Collects bytes and yields events as their blank line arrives.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    /// A `\r` ended the last line; a `\n` right after it belongs to the same line end.
    after_cr: bool,
}

/// The longest line kept; longer lines are cut (a record is at most a few MiB).
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

impl SseParser {
    /// Feeds `bytes`; returns the events they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    if let Some(event) = self.end_line() {
                        events.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() < MAX_LINE_BYTES {
                        self.line.push(byte);
                    }
                }
            }
        }
        events
    }

    fn end_line(&mut self) -> Option<SseEvent> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            return std::mem::replace(&mut self.has_data, false).then_some(event);
        }
        if line[0] == b':' {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = text.split_once(':').unwrap_or((&text, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.current.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let stream = b": comment\nretry: 1000\n\nid: 7\r\nevent: auditLog\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: keep-alive\n\nid:8\ndata:x\n\n";
        for split in 0..stream.len() {
            let mut parser = SseParser::default();
            let mut events = parser.push(&stream[..split]);
            events.extend(parser.push(&stream[split..]));
            assert_eq!(
                events,
                [
                    SseEvent {
                        event: Some("auditLog".into()),
                        id: Some("7".into()),
                        data: "{\"a\":\n1}".into(),
                    },
                    SseEvent {
                        event: None,
                        id: Some("8".into()),
                        data: "x".into(),
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"id: 3\nevent: x\n\n").is_empty());
    }
}
