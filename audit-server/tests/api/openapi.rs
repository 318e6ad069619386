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
        checked_in() == audit_server::http::openapi::document_json(),
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
    let document: Value = serde_json::from_str(&audit_server::http::openapi::document_json()).unwrap();
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
            // The checkpoint verifier key and policy are public on purpose: verifiers fetch them
            // without credentials.
            let public = ["/api/v1/checkpoints/public-key", "/api/v1/checkpoints/policy"];
            let protected = path.starts_with("/api/v1") && !public.contains(&path.as_str());
            if protected {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{ "bearer": [] }]),
                    "{name}: security"
                );
                assert!(responses.contains_key("401"), "{name}: 401 documented");
                assert!(responses.contains_key("503"), "{name}: 503 documented");
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

/// Every `$ref` in `value`, with where it was found.
fn collect_refs(value: &Value, at: &str, refs: &mut Vec<(String, String)>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                if name == "$ref"
                    && let Some(target) = member.as_str()
                {
                    refs.push((at.to_owned(), target.to_owned()));
                }
                collect_refs(member, &format!("{at}/{name}"), refs);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_refs(item, &format!("{at}/{index}"), refs);
            }
        }
        _ => {}
    }
}

/// The component schema a `$ref` names.
fn component<'a>(document: &'a Value, reference: &Value) -> Option<&'a Value> {
    let name = reference.as_str()?.strip_prefix("#/components/schemas/")?;
    document["components"]["schemas"].get(name)
}

#[test]
fn schemas_are_described_named_and_illustrated() {
    let document: Value = serde_json::from_str(&audit_server::http::openapi::document_json()).unwrap();

    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&document, "", &mut refs);
    for (at, target) in &refs {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{at}: unexpected $ref {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{at}: $ref {target} names no schema"
        );
    }

    // Every schema and every field says what it is, and every example is valid.
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema["description"].as_str().is_some_and(|d| !d.is_empty()),
            "schema {name}: description"
        );
        if let Some(example) = schema.get("example") {
            let mut rooted = schema.clone();
            rooted["components"] = document["components"].clone();
            let validator = jsonschema::draft202012::new(&rooted).expect("the schema compiles");
            let errors: Vec<String> = validator.iter_errors(example).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "schema {name}: invalid example: {errors:?}");
        }
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let described = property["description"].is_string()
                || property["oneOf"]
                    .as_array()
                    .is_some_and(|branches| branches.iter().any(|b| b["description"].is_string()));
            assert!(described, "schema {name}: field {field} description");
        }
    }

    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            // Enumerated parameters are named enums, not inline lists.
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    parameter["schema"]["enum"].is_null(),
                    "{name}: parameter {} is an inline enum; refer to a named schema",
                    parameter["name"]
                );
            }
            // Request bodies and JSON answers come with an example.
            let body = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
            if !body.is_null() {
                let schema = component(&document, body).unwrap();
                assert!(!schema["example"].is_null(), "{name}: request body example");
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let answer = &response["content"]["application/json"]["schema"]["$ref"];
                if status.starts_with('2') && !answer.is_null() {
                    let schema = component(&document, answer).unwrap();
                    let example = &schema["example"];
                    let field_examples = schema["properties"]
                        .as_object()
                        .is_some_and(|fields| fields.values().all(|f| !f["example"].is_null()));
                    assert!(
                        !example.is_null() || field_examples,
                        "{name} {status}: response example"
                    );
                }
            }
        }
    }

    // Pagination is described: the page size's bounds, the cursor, and where the next one is.
    let list = &document["paths"]["/api/v1/audit-logs"]["get"];
    let parameter = |wanted: &str| {
        list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == wanted)
            .cloned()
            .unwrap_or_else(|| panic!("listAuditLogs: parameter {wanted}"))
    };
    let limit = parameter("limit");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 1000);
    assert!(
        parameter("cursor")["description"]
            .as_str()
            .unwrap()
            .contains("nextCursor")
    );
    let page = &document["components"]["schemas"]["AuditLogPage"];
    assert!(
        page["required"]
            .as_array()
            .unwrap()
            .contains(&Value::from("nextCursor"))
    );
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
    let generated: Value = serde_json::from_str(&audit_server::http::openapi::document_json()).unwrap();
    assert_eq!(served, generated);
    let docs = server.http().get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI is served offline"
    );
}
