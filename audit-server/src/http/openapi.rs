//! The OpenAPI document: the routes' own annotations plus the API's description, tags and
//! the bearer security scheme.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::http::error::PROBLEM_JSON;

/// The parts of the document not written on the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Audit Log Service",
        description = "Immutable, tamper-evident audit logs for multi-tenant apps: who did what, when, where, and \
                       what exactly changed. Every `/api/v1` call carries `Authorization: Bearer <secret>`: the \
                       operator's admin token for organizations and keys, an organization's API key for the rest. \
                       Errors are `application/problem+json` (RFC 9457).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "audit-logs", description = "Record, read and verify audit events."),
        (name = "organizations", description = "Tenants, managed by the operator."),
        (name = "api-keys", description = "An organization's credentials."),
        (name = "catalog", description = "The resource types and actions that may be recorded."),
        (name = "checkpoints", description = "Signed checkpoints of the chain, for offline verification."),
        (name = "retention", description = "How long records are kept, and purging older ones."),
        (name = "viewing", description = "Viewer tokens for the host app's users."),
        (name = "streams", description = "Log streams: the trail delivered to webhooks, Splunk, Datadog or files."),
        (name = "operations", description = "Health and readiness."),
    ),
    modifiers(&BearerSecurity),
)]
pub struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some(
            "The operator's `AUDIT_ADMIN_TOKEN`, or an API key secret (`ak_...`) shown once at its creation."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Stream destinations are internally tagged (`"type": "webhook"`, ...) and refuse unknown
/// fields. utoipa describes each as `allOf` of the variant's schema (with
/// `additionalProperties: false`) and the tag, which no body could satisfy and which client
/// generators cannot model. This writes what the server accepts instead: each variant's own
/// schema names its required `type`, and `StreamDestination` is a `oneOf` of those schemas with
/// a discriminator on `type`.
struct TaggedDestinations;

/// Each destination schema and the `type` that selects it.
const DESTINATION_TAGS: [(&str, &str); 4] = [
    ("WebhookDestination", "webhook"),
    ("SplunkHecDestination", "splunkHec"),
    ("DatadogDestination", "datadog"),
    ("FileDestination", "file"),
];

impl Modify for TaggedDestinations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, tag) in DESTINATION_TAGS {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                let tag_schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([tag]))
                    .description(Some("The destination type."));
                object.properties.insert("type".to_owned(), tag_schema.into());
                if !object.required.iter().any(|field| field == "type") {
                    object.required.insert(0, "type".to_owned());
                }
            }
        }
        let Some(RefOr::T(Schema::OneOf(destination))) = components.schemas.get("StreamDestination") else {
            return;
        };
        let mapping = DESTINATION_TAGS.map(|(name, tag)| (tag, Ref::from_schema_name(name).ref_location));
        let flattened = DESTINATION_TAGS
            .iter()
            .fold(OneOfBuilder::new(), |one_of, (name, _)| {
                one_of.item(Ref::from_schema_name(*name))
            })
            .description(destination.description.clone())
            .discriminator(Some(Discriminator::with_mapping("type", mapping)));
        components.schemas.insert(
            "StreamDestination".to_owned(),
            Schema::OneOf(flattened.build()).into(),
        );
    }
}

/// Problem answers are `application/problem+json` (RFC 9457). The routes' annotations say
/// `body = Problem` only; this gives every answer whose body is a [`audit_core::Problem`] its
/// media type, so it is written once.
struct ProblemMediaType;

impl Modify for ProblemMediaType {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr};
        let problem = Ref::from_schema_name("Problem").ref_location;
        let is_problem = |content: &RefOr<utoipa::openapi::Content>| {
            matches!(content, RefOr::T(content)
                if matches!(&content.schema, Some(RefOr::Ref(schema)) if schema.ref_location == problem))
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response.content = std::mem::take(&mut response.content)
                            .into_iter()
                            .map(|(media_type, content)| match is_problem(&content) {
                                true => (PROBLEM_JSON.to_owned(), content),
                                false => (media_type, content),
                            })
                            .collect();
                    }
                }
            }
        }
    }
}

/// The whole document, as `/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = crate::http::router::documented_routes().split_for_parts().1;
    finish(&mut document);
    document
}

/// What can only be written once the routes' schemas are in the document.
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    TaggedDestinations.modify(document);
    ProblemMediaType.modify(document);
}

/// The document as pretty JSON with a trailing newline, as checked in at `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
