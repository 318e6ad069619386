//! Datadog logs intake: `POST https://http-intake.logs.{site}/api/v2/logs` with the `DD-API-KEY`
//! header and a JSON array of `{"ddsource", "ddtags", "hostname", "service", "message"}`, as
//! Datadog's "Send logs" API (v2) documents. The message is the event sent for the record (its stream format) as JSON text, which
//! Datadog parses into attributes.

use audit_core::DatadogDestination;
use serde_json::{Value, json};

use super::batch::Batch;
use super::destination::{DeliveryError, check_status};

/// The intake endpoint.
pub fn endpoint(config: &DatadogDestination) -> String {
    let base = match (&config.url, &config.site) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(site)) => format!("https://http-intake.logs.{site}"),
        (None, None) => "https://http-intake.logs.datadoghq.com".to_owned(),
    };
    format!("{base}/api/v2/logs")
}

/// The body of a batch.
pub fn body(config: &DatadogDestination, batch: &Batch<'_>) -> Vec<u8> {
    // The envelope without the checkpoint note (large, and the same on every log).
    let mut batch_attribute = serde_json::to_value(&batch.envelope).unwrap_or(Value::Null);
    if let Value::Object(members) = &mut batch_attribute {
        members.remove("checkpoint");
    }
    let items: Vec<Value> = batch
        .records
        .iter()
        .zip(&batch.events)
        .map(|(record, sent)| {
            let mut tags = format!(
                "org_id:{},resource_type:{},action:{}",
                record.org_id, record.resource_type, record.action
            );
            if let Some(project_id) = &record.project_id {
                tags.push_str(&format!(",project_id:{project_id}"));
            }
            if let Some(extra) = &config.ddtags {
                tags.push(',');
                tags.push_str(extra);
            }
            json!({
                "ddsource": config.ddsource.as_deref().unwrap_or("audit-log"),
                "ddtags": tags,
                "hostname": config.hostname.as_deref().unwrap_or("audit-log"),
                "service": config.service.as_deref().unwrap_or("audit-log"),
                "message": serde_json::to_string(sent).unwrap_or_default(),
                "audit_batch": batch_attribute,
            })
        })
        .collect();
    serde_json::to_vec(&items).unwrap_or_default()
}

/// Sends one batch.
pub async fn send(
    http: &reqwest::Client,
    config: &DatadogDestination,
    api_key: &str,
    batch: &Batch<'_>,
) -> Result<(), DeliveryError> {
    let response = http
        .post(endpoint(config))
        .header("DD-API-KEY", api_key)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body(config, batch))
        .send()
        .await
        .map_err(DeliveryError::from_reqwest)?;
    check_status(response).await
}
