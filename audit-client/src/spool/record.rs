//! The on-disk record: `MAGIC | length (u32 LE) | CRC32 of length and payload (u32 LE) | payload`.
//!
//! The magic lets a reader find the next record after a damaged one whose length field cannot be
//! trusted; the CRC covers the length too, so a record is accepted only when every byte of it
//! is as written.

/// Marks the start of every record.
pub(crate) const MAGIC: [u8; 4] = *b"ASP1";

/// Magic, length and checksum.
pub(crate) const HEADER_LEN: usize = 12;

/// Appends one record holding `payload` to `out`.
pub(crate) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    let length = u32::try_from(payload.len())
        .expect("a spooled event is far below 4 GiB")
        .to_le_bytes();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&length);
    out.extend_from_slice(&checksum(&length, payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The intact records of a segment, in order, and how many damaged stretches were skipped.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    pub(crate) records: Vec<&'a [u8]>,
    /// Damaged stretches (a torn tail, flipped bytes): each lost at least one record.
    pub(crate) damaged: u64,
}

/// Reads every intact record of `bytes`. After a damaged record it resumes at the next offset
/// where an intact record starts, so one bad record costs only itself.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<'_> {
    let mut decoded = Decoded::default();
    let mut at = 0;
    while at < bytes.len() {
        if let Some((payload, next)) = record_at(bytes, at) {
            decoded.records.push(payload);
            at = next;
            continue;
        }
        decoded.damaged += 1;
        match next_intact(bytes, at + 1) {
            Some(next) => at = next,
            None => break,
        }
    }
    decoded
}

fn next_intact(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(HEADER_LEN - 1))
        .find(|&at| bytes[at..].starts_with(&MAGIC) && record_at(bytes, at).is_some())
}

/// The payload of an intact record at `at` and the offset after it.
fn record_at(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let header = bytes.get(at..at.checked_add(HEADER_LEN)?)?;
    if header[..4] != MAGIC {
        return None;
    }
    let length: [u8; 4] = header[4..8].try_into().ok()?;
    let expected = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let start = at + HEADER_LEN;
    let end = start.checked_add(u32::from_le_bytes(length) as usize)?;
    let payload = bytes.get(start..end)?;
    (checksum(&length, payload) == expected).then_some((payload, end))
}

fn checksum(length: &[u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(length);
    hasher.update(payload);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(payloads: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        for payload in payloads {
            starts.push(out.len());
            encode(payload, &mut out);
        }
        (out, starts)
    }

    #[test]
    fn intact_records_come_back_in_order() {
        let (bytes, _) = segment(&[b"one", b"", b"three"]);
        let decoded = decode(&bytes);
        assert_eq!(decoded.records, vec![&b"one"[..], b"", b"three"]);
        assert_eq!(decoded.damaged, 0);
    }

    #[test]
    fn a_torn_tail_loses_only_the_last_record() {
        let (bytes, starts) = segment(&[b"first", b"second", b"third record"]);
        for cut in starts[2] + 1..bytes.len() {
            let decoded = decode(&bytes[..cut]);
            assert_eq!(decoded.records, vec![&b"first"[..], b"second"], "cut at {cut}");
            assert_eq!(decoded.damaged, 1, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_byte_anywhere_in_a_middle_record_loses_only_that_record() {
        let (bytes, starts) = segment(&[b"first", b"second", b"third"]);
        for at in starts[1]..starts[2] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x5a;
            let decoded = decode(&damaged);
            assert_eq!(decoded.records, vec![&b"first"[..], b"third"], "byte {at}");
            assert_eq!(decoded.damaged, 1, "byte {at}");
        }
    }

    #[test]
    fn zeros_after_the_last_record_count_as_one_damaged_stretch() {
        let (mut bytes, _) = segment(&[b"first"]);
        bytes.extend_from_slice(&[0; 4096]);
        let decoded = decode(&bytes);
        assert_eq!(decoded.records, vec![&b"first"[..]]);
        assert_eq!(decoded.damaged, 1);
    }
}
