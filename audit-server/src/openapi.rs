//! The OpenAPI document: the routes' own annotations plus the API's description, tags and
//! the bearer security scheme.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

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
/// `additionalProperties: false`) and the tag, which no body could satisfy; naming the tag in
/// the variant's own schema makes the document say what the server accepts.
struct TaggedDestinations;

impl Modify for TaggedDestinations {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for (name, tag) in [
            ("WebhookDestination", "webhook"),
            ("SplunkHecDestination", "splunkHec"),
            ("DatadogDestination", "datadog"),
            ("FileDestination", "file"),
        ] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                let tag_schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([tag]))
                    .description(Some("The destination type."));
                object.properties.insert("type".to_owned(), tag_schema.into());
            }
        }
    }
}

/// The whole document, as `/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = crate::app::documented_routes().split_for_parts().1;
    finish(&mut document);
    document
}

/// What can only be written once the routes' schemas are in the document.
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    TaggedDestinations.modify(document);
}

/// The document as pretty JSON with a trailing newline, as checked in at `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
