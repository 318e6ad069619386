//! The OpenAPI document: checked in, complete, and what the server serves.

use serde_json::Value;

use crate::helpers::*;

const REGENERATE: &str = "cargo run -p audit-server -- openapi > openapi/openapi.json";

fn checked_in() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_checked_in_document_is_the_generated_one() {
    assert!(
        checked_in() == audit_server::openapi::document_json(),
        "openapi/openapi.json differs from the code; regenerate it with `{REGENERATE}`"
    );
}

/// The official OpenAPI 3.1 schema (https://spec.openapis.org/oas/3.1/schema/2022-10-07), as
/// shipped by the `openapi-spec-validator` package.
const OPENAPI_3_1_SCHEMA: &str = include_str!("oas-3.1-schema.json");

#[test]
fn the_document_is_valid_openapi_3_1() {
    let schema: Value = serde_json::from_str(OPENAPI_3_1_SCHEMA).unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the OpenAPI 3.1 schema compiles");
    let document: Value = serde_json::from_str(&checked_in()).expect("openapi/openapi.json is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not valid OpenAPI 3.1:\n{}", errors.join("\n"));

    let mut broken = document.clone();
    broken["paths"]["/health"]["get"]["responses"] = Value::String("nothing".into());
    assert!(
        !validator.is_valid(&broken),
        "the validator notices a broken document"
    );
}

#[test]
fn every_operation_is_documented_completely() {
    let document: Value = serde_json::from_str(&audit_server::openapi::document_json()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut operation_ids = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: operationId"));
            operation_ids.push(id.to_owned());
            assert!(
                operation["tags"].as_array().is_some_and(|tags| !tags.is_empty()),
                "{name}: tag"
            );
            assert!(
                operation["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}: description"
            );
            let responses = operation["responses"].as_object().unwrap();
            let protected = path.starts_with("/api/v1");
            if protected {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{ "bearer": [] }]),
                    "{name}: security"
                );
                assert!(responses.contains_key("401"), "{name}: 401 documented");
            }
            for (status, response) in responses {
                assert!(
                    response["description"].is_string(),
                    "{name} {status}: description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let problem = &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        problem, "#/components/schemas/Problem",
                        "{name} {status}: problem+json"
                    );
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    parameter["description"].is_string(),
                    "{name}: parameter {} description",
                    parameter["name"]
                );
            }
        }
    }
    let mut unique = operation_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), operation_ids.len(), "operationIds are unique");
    for expected in [
        "recordAuditLog",
        "recordAuditLogBatch",
        "listAuditLogs",
        "getAuditLog",
        "verifyAuditLogs",
    ] {
        assert!(operation_ids.iter().any(|id| id == expected), "{expected}");
    }
}

#[tokio::test]
async fn the_server_serves_the_document_and_swagger_ui() {
    let server = TestServer::start_sqlite().await;
    let served: Value = server
        .http()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: Value = serde_json::from_str(&audit_server::openapi::document_json()).unwrap();
    assert_eq!(served, generated);
    let docs = server.http().get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI is served offline"
    );
}
