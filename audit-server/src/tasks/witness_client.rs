//! One C2SP tlog-witness `add-checkpoint` call and what its answer means.

use std::time::Duration;

use audit_core::witness_protocol::{ADD_CHECKPOINT_PATH, AddCheckpoint};

/// How long a witness may take to answer one submission.
pub const SUBMISSION_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from a witness.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The longest witness message kept.
const MAX_MESSAGE_CHARS: usize = 500;

/// A witness's answer to one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the cosignature lines, without their newlines.
    Cosigned(Vec<String>),
    /// 409: the size the witness last cosigned for this log is not the old size given.
    Conflict(u64),
    /// Any other 4xx: the witness refuses this checkpoint, with its status and message.
    Refused(u16, String),
    /// No usable answer (down, timed out, 5xx, a malformed 409).
    Unreachable(String),
}

/// Submits `request` to the witness at `url` and reads its answer.
pub async fn submit(client: &reqwest::Client, url: &str, request: &AddCheckpoint) -> Answer {
    let sent = client
        .post(format!("{url}{ADD_CHECKPOINT_PATH}"))
        .timeout(SUBMISSION_TIMEOUT)
        .body(request.encode())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return Answer::Unreachable(format!("the witness did not answer: {error}")),
    };
    let status = response.status();
    let text = match read_bounded(response).await {
        Ok(text) => text,
        Err(reason) => return Answer::Unreachable(reason),
    };
    match status.as_u16() {
        200 => Answer::Cosigned(
            text.lines()
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        409 => match text.trim_end_matches('\n').parse() {
            Ok(size) => Answer::Conflict(size),
            Err(_) => Answer::Unreachable(format!(
                "the witness answered 409 without a size: {}",
                short(&text)
            )),
        },
        code @ 400..=499 => Answer::Refused(code, short(&text)),
        code => Answer::Unreachable(format!("the witness answered {code}: {}", short(&text))),
    }
}

/// The answer's body, refused past [`MAX_ANSWER_BYTES`] (cosignature lines and sizes are short).
async fn read_bounded(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_ANSWER_BYTES => {
                return Err(format!(
                    "the witness's answer is larger than {MAX_ANSWER_BYTES} bytes"
                ));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(String::from_utf8_lossy(&body).into_owned()),
            Err(error) => return Err(format!("the witness's answer was cut off: {error}")),
        }
    }
}

/// `text` on one line, at most [`MAX_MESSAGE_CHARS`] characters.
fn short(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_kept_short_and_on_one_line() {
        assert_eq!(short("not\nconsistent  with 41\n"), "not consistent with 41");
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        assert_eq!(short(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
