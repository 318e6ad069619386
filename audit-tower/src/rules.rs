//! Which requests are audited, and as what.
//!
//! Without rules, an axum route template is enough: `POST /api/projects/{projectId}/prompts`
//! is a `prompt` `create` whose id is the response body's `id`, and
//! `PATCH /api/projects/{projectId}/prompts/{promptId}` is a `prompt` `update` of the resource
//! named by `{promptId}` in project `{projectId}`. A [`Rule`] overrides or extends this for one
//! method and path template: another resource type or action, where the id comes from, or
//! "do not audit".
//!
//! ```
//! use audit_tower::{IdSource, Rule};
//! use http::Method;
//!
//! let label = Rule::new(Method::POST, "/api/projects/{projectId}/prompts/{promptId}/labels")
//!     .resource_type("prompt")
//!     .action("setLabel");
//! assert_eq!(label.id_source(), None); // inferred: `{promptId}` follows `prompts`
//!
//! let login = Rule::skip(Method::POST, "/api/session");
//! assert!(login.is_skip());
//!
//! let import = Rule::new(Method::POST, "/api/imports").id_from(IdSource::RequestBody("name".into()));
//! assert_eq!(import.id_source(), Some(&IdSource::RequestBody("name".into())));
//! ```

use std::borrow::Cow;

use http::Method;

/// Where the resource id of an audited request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdSource {
    /// A parameter of the path template, e.g. `promptId` for `{promptId}`.
    PathParam(String),
    /// A field of the response's JSON body: a top-level key, or a JSON pointer such as
    /// `/data/id`.
    ResponseBody(String),
    /// A field of the request's JSON body (a key or a JSON pointer). The request body is
    /// copied, up to the body limit, as the handler reads it; this works for axum's `Body`.
    RequestBody(String),
}

/// One explicit rule: for a method (or any) and a path template, audit as something else
/// than the defaults, or not at all. Rules are tried in the order they were added; the first
/// that matches wins.
#[derive(Debug, Clone)]
pub struct Rule {
    method: Option<Method>,
    template: PathTemplate,
    skip: bool,
    resource_type: Option<String>,
    action: Option<String>,
    id: Option<IdSource>,
    project_param: Option<String>,
}

impl Rule {
    /// Audits `method` on `path` (a template such as `/api/items/{itemId}`), with whatever
    /// the setters below do not override inferred as without a rule.
    pub fn new(method: Method, path: &str) -> Self {
        Rule {
            method: Some(method),
            template: PathTemplate::parse(path),
            skip: false,
            resource_type: None,
            action: None,
            id: None,
            project_param: None,
        }
    }

    /// Audits every method on `path` (GET, HEAD and OPTIONS included) with the rule's settings.
    pub fn any_method(path: &str) -> Self {
        Rule {
            method: None,
            ..Rule::new(Method::GET, path)
        }
    }

    /// Never audits `method` on `path`.
    pub fn skip(method: Method, path: &str) -> Self {
        Rule {
            skip: true,
            ..Rule::new(method, path)
        }
    }

    /// Never audits any method on `path`.
    pub fn skip_any_method(path: &str) -> Self {
        Rule {
            skip: true,
            ..Rule::any_method(path)
        }
    }

    /// The resource type recorded (e.g. `prompt`).
    pub fn resource_type(mut self, resource_type: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type.into());
        self
    }

    /// The action recorded (e.g. `setLabel`, `publish`).
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Where the resource id comes from.
    pub fn id_from(mut self, source: IdSource) -> Self {
        self.id = Some(source);
        self
    }

    /// The resource id is the path parameter `name`.
    pub fn id_from_path(self, name: impl Into<String>) -> Self {
        self.id_from(IdSource::PathParam(name.into()))
    }

    /// The resource id is the response body's field `field`.
    pub fn id_from_response(self, field: impl Into<String>) -> Self {
        self.id_from(IdSource::ResponseBody(field.into()))
    }

    /// The resource id is the request body's field `field`.
    pub fn id_from_request(self, field: impl Into<String>) -> Self {
        self.id_from(IdSource::RequestBody(field.into()))
    }

    /// The project id is the path parameter `name` (default: `projectId` or `project_id`).
    pub fn project_from_path(mut self, name: impl Into<String>) -> Self {
        self.project_param = Some(name.into());
        self
    }

    /// Whether this rule turns auditing off.
    pub fn is_skip(&self) -> bool {
        self.skip
    }

    /// The explicit id source, if any.
    pub fn id_source(&self) -> Option<&IdSource> {
        self.id.as_ref()
    }

    /// The path template.
    pub fn path(&self) -> &str {
        self.template.as_str()
    }

    fn matches(&self, method: &Method, matched: Option<&str>, path: &str) -> Option<Captures> {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return None;
        }
        let captures = self.template.captures(path);
        if captures.is_none() && matched == Some(self.template.as_str()) {
            // A nested router may hand us a shortened path; the template still names the route.
            return Some(Captures::default());
        }
        captures
    }
}

/// The default action of a method: POST `create`, PUT and PATCH `update`, DELETE `delete`;
/// other methods are not audited without a rule.
pub fn default_action(method: &Method) -> Option<&'static str> {
    match *method {
        Method::POST => Some("create"),
        Method::PUT | Method::PATCH => Some("update"),
        Method::DELETE => Some("delete"),
        _ => None,
    }
}

/// The resource type named by a path segment: singular and camelCase (`prompts` → `prompt`,
/// `api-keys` → `apiKey`, `dataset_items` → `datasetItem`, `policies` → `policy`).
pub fn resource_type_of_segment(segment: &str) -> String {
    let singular = singularize(segment);
    let mut out = String::with_capacity(singular.len());
    let mut upper = false;
    for ch in singular.chars() {
        if matches!(ch, '-' | '_' | '.' | ' ') {
            upper = !out.is_empty();
        } else if upper {
            out.extend(ch.to_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

fn singularize(word: &str) -> Cow<'_, str> {
    let lower = word.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix("ies")
        && !stem.is_empty()
    {
        return Cow::Owned(format!("{}y", &word[..stem.len()]));
    }
    for suffix in ["sses", "xes", "ches", "shes", "zzes"] {
        if lower.ends_with(suffix) {
            return Cow::Borrowed(&word[..word.len() - 2]);
        }
    }
    if lower.ends_with('s') && !lower.ends_with("ss") && !lower.ends_with("us") && word.len() > 1 {
        return Cow::Borrowed(&word[..word.len() - 1]);
    }
    Cow::Borrowed(word)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
    Wildcard(String),
}

/// A parsed path template (`/a/{id}/b/{*rest}`; axum 0.7's `:id` and `*rest` are accepted too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    raw: String,
    segments: Vec<Segment>,
}

/// Path parameters captured from a concrete path, percent-decoded.
pub(crate) type Captures = Vec<(String, String)>;

impl PathTemplate {
    pub(crate) fn parse(raw: &str) -> Self {
        let segments = raw
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    match inner.strip_prefix('*') {
                        Some(name) => Segment::Wildcard(name.to_owned()),
                        None => Segment::Param(inner.to_owned()),
                    }
                } else if let Some(name) = s.strip_prefix(':') {
                    Segment::Param(name.to_owned())
                } else if let Some(name) = s.strip_prefix('*') {
                    Segment::Wildcard(name.to_owned())
                } else {
                    Segment::Static(s.to_owned())
                }
            })
            .collect();
        PathTemplate {
            raw: raw.to_owned(),
            segments,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parameters of `path` when it matches this template.
    pub(crate) fn captures(&self, path: &str) -> Option<Captures> {
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        let mut captures = Captures::new();
        for segment in &self.segments {
            match segment {
                Segment::Static(expected) => {
                    if parts.next()? != expected {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    captures.push((name.clone(), percent_decode(parts.next()?)));
                }
                Segment::Wildcard(name) => {
                    let rest: Vec<&str> = parts.by_ref().collect();
                    captures.push((name.clone(), percent_decode(&rest.join("/"))));
                    return Some(captures);
                }
            }
        }
        parts.next().is_none().then_some(captures)
    }
}

fn percent_decode(input: &str) -> String {
    if !input.contains('%') {
        return input.to_owned();
    }
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the resource id of an audited request will be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdPlan {
    Known(String),
    ResponseBody(String),
    RequestBody(String),
}

/// What an audited request will be recorded as, as far as known before the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) resource_type: String,
    pub(crate) action: String,
    pub(crate) id: IdPlan,
    pub(crate) project_id: Option<String>,
    pub(crate) route: String,
}

/// The rules of one layer.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) rules: Vec<Rule>,
    pub(crate) project_params: Vec<String>,
    /// Whether some rule covers GET, HEAD or OPTIONS (otherwise those skip everything).
    reads_covered: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            rules: Vec::new(),
            project_params: vec!["projectId".to_owned(), "project_id".to_owned()],
            reads_covered: false,
        }
    }
}

impl Rules {
    pub(crate) fn push(&mut self, rule: Rule) {
        if !rule.skip && rule.method.as_ref().is_none_or(|m| default_action(m).is_none()) {
            self.reads_covered = true;
        }
        self.rules.push(rule);
    }

    /// A cheap first look: false means the request is certainly not audited.
    pub(crate) fn may_audit(&self, method: &Method) -> bool {
        self.reads_covered || default_action(method).is_some()
    }

    /// What the request is audited as, or `None` when it is not.
    pub(crate) fn resolve(&self, method: &Method, matched: Option<&str>, path: &str) -> Option<Target> {
        for rule in &self.rules {
            let Some(captures) = rule.matches(method, matched, path) else {
                continue;
            };
            if rule.skip {
                return None;
            }
            let action = match &rule.action {
                Some(action) => action.clone(),
                None => default_action(method)?.to_owned(),
            };
            return infer(
                &rule.template,
                &captures,
                rule.resource_type.as_deref(),
                action,
                rule.id.as_ref(),
                rule.project_param
                    .as_ref()
                    .map_or(&self.project_params[..], std::slice::from_ref),
            );
        }
        let action = default_action(method)?;
        let template = PathTemplate::parse(matched?);
        let captures = template.captures(path).unwrap_or_default();
        infer(
            &template,
            &captures,
            None,
            action.to_owned(),
            None,
            &self.project_params,
        )
    }
}

fn infer(
    template: &PathTemplate,
    captures: &Captures,
    resource_type: Option<&str>,
    action: String,
    id: Option<&IdSource>,
    project_params: &[String],
) -> Option<Target> {
    let param = |name: &str| {
        captures
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let segments = &template.segments;
    // The static segment naming the resource: the one whose singular is the given type, else
    // the last static segment.
    let position = match resource_type {
        Some(wanted) => segments
            .iter()
            .rposition(|s| matches!(s, Segment::Static(name) if resource_type_of_segment(name) == wanted)),
        None => segments.iter().rposition(|s| matches!(s, Segment::Static(_))),
    };
    let resource_type = match (resource_type, position) {
        (Some(given), _) => given.to_owned(),
        (None, Some(at)) => match &segments[at] {
            Segment::Static(name) => resource_type_of_segment(name),
            _ => return None,
        },
        (None, None) => return None,
    };
    let id = match id {
        Some(IdSource::PathParam(name)) => match param(name) {
            Some(value) => IdPlan::Known(value),
            None => IdPlan::ResponseBody("id".to_owned()),
        },
        Some(IdSource::ResponseBody(field)) => IdPlan::ResponseBody(field.clone()),
        Some(IdSource::RequestBody(field)) => IdPlan::RequestBody(field.clone()),
        None => match position.and_then(|at| segments.get(at + 1)) {
            Some(Segment::Param(name)) => match param(name) {
                Some(value) => IdPlan::Known(value),
                None => IdPlan::ResponseBody("id".to_owned()),
            },
            _ => IdPlan::ResponseBody("id".to_owned()),
        },
    };
    let project_id = project_params.iter().find_map(|name| param(name));
    Some(Target {
        resource_type,
        action,
        id,
        project_id,
        route: template.as_str().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "/api/projects/{projectId}/prompts/{promptId}";

    #[test]
    fn resource_types_are_singular_camel_case() {
        for (segment, expected) in [
            ("prompts", "prompt"),
            ("datasets", "dataset"),
            ("api-keys", "apiKey"),
            ("dataset_items", "datasetItem"),
            ("policies", "policy"),
            ("batches", "batch"),
            ("status", "status"),
            ("access", "access"),
            ("llmApiKeys", "llmApiKey"),
        ] {
            assert_eq!(resource_type_of_segment(segment), expected, "{segment}");
        }
    }

    #[test]
    fn templates_capture_decoded_parameters() {
        let template = PathTemplate::parse(ONE);
        assert_eq!(
            template.captures("/api/projects/p%201/prompts/pr_9"),
            Some(vec![
                ("projectId".into(), "p 1".into()),
                ("promptId".into(), "pr_9".into())
            ])
        );
        assert_eq!(template.captures("/api/projects/p1/prompts"), None);
        assert_eq!(template.captures("/api/projects/p1/prompts/x/y"), None);
        let wildcard = PathTemplate::parse("/files/{*path}");
        assert_eq!(
            wildcard.captures("/files/a/b.txt"),
            Some(vec![("path".into(), "a/b.txt".into())])
        );
        let old = PathTemplate::parse("/items/:id");
        assert_eq!(old.captures("/items/7"), Some(vec![("id".into(), "7".into())]));
    }

    #[test]
    fn defaults_come_from_the_route() {
        let rules = Rules::default();
        let update = rules
            .resolve(&Method::PATCH, Some(ONE), "/api/projects/p1/prompts/pr9")
            .unwrap();
        assert_eq!(
            update,
            Target {
                resource_type: "prompt".into(),
                action: "update".into(),
                id: IdPlan::Known("pr9".into()),
                project_id: Some("p1".into()),
                route: ONE.into(),
            }
        );
        let create = rules
            .resolve(
                &Method::POST,
                Some("/api/projects/{projectId}/api-keys"),
                "/api/projects/p1/api-keys",
            )
            .unwrap();
        assert_eq!(create.resource_type, "apiKey");
        assert_eq!(create.action, "create");
        assert_eq!(create.id, IdPlan::ResponseBody("id".into()));
        assert_eq!(
            rules.resolve(&Method::GET, Some(ONE), "/api/projects/p1/prompts/pr9"),
            None
        );
        assert_eq!(
            rules.resolve(&Method::DELETE, None, "/x/1"),
            None,
            "no route, no rule"
        );
        assert!(!rules.may_audit(&Method::GET));
    }

    #[test]
    fn rules_override_and_skip() {
        let mut rules = Rules::default();
        rules.push(
            Rule::new(
                Method::POST,
                "/api/projects/{projectId}/prompts/{promptId}/labels",
            )
            .resource_type("prompt")
            .action("setLabel"),
        );
        rules.push(Rule::skip(Method::POST, "/api/session"));
        rules.push(
            Rule::new(Method::PUT, "/things/{a}/{b}")
                .resource_type("thing")
                .id_from_path("b")
                .project_from_path("a"),
        );
        let label = rules
            .resolve(&Method::POST, None, "/api/projects/p1/prompts/pr9/labels")
            .unwrap();
        assert_eq!(
            (
                label.resource_type.as_str(),
                label.action.as_str(),
                &label.id,
                label.project_id.as_deref()
            ),
            ("prompt", "setLabel", &IdPlan::Known("pr9".into()), Some("p1"))
        );
        assert_eq!(
            rules.resolve(&Method::POST, Some("/api/session"), "/api/session"),
            None
        );
        let thing = rules.resolve(&Method::PUT, None, "/things/x/y").unwrap();
        assert_eq!(
            (thing.id, thing.project_id),
            (IdPlan::Known("y".into()), Some("x".into()))
        );
        assert!(!rules.may_audit(&Method::GET));
        rules.push(
            Rule::any_method("/export")
                .resource_type("batchExport")
                .action("download"),
        );
        assert!(rules.may_audit(&Method::GET));
        let export = rules.resolve(&Method::GET, None, "/export").unwrap();
        assert_eq!(export.action, "download");
    }
}
