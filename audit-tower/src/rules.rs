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
use std::sync::{Arc, OnceLock};

use http::Method;

use crate::sampling::{ReadSampling, Sampler};

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
    sampling: Option<ReadSampling>,
    list: bool,
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
            sampling: None,
            list: false,
        }
    }

    /// Audits `GET` on `path` as a `read` (opt-in read auditing): e.g.
    /// `Rule::read("/api/projects/{projectId}/prompts/{promptId}")` records a `prompt` `read`
    /// of `{promptId}`. A read records no `before` or `after` and runs no before-state loader;
    /// [`Rule::sampled`] keeps a hot path from flooding the trail, [`Rule::list`] marks a list
    /// or search.
    pub fn read(path: &str) -> Self {
        Rule::new(Method::GET, path).action("read")
    }

    /// Records only the requests `sampling` lets through (a share, a budget per actor and
    /// minute, or both); the others are counted in
    /// [`AuditStats::sampled_out`](crate::AuditStats::sampled_out).
    pub fn sampled(mut self, sampling: ReadSampling) -> Self {
        self.sampling = Some(sampling);
        self
    }

    /// The request reads many resources (a list or a search): one event per request, with
    /// resource id `*` and the query string's parameters in `metadata.query`.
    pub fn list(mut self) -> Self {
        self.list = true;
        self
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

    fn matches(&self, method: &Method, matched: Option<&str>, path: &str) -> bool {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return false;
        }
        // A nested router may hand us a shortened path; the template still names the route.
        self.template.matches(path) || matched == Some(self.template.as_str())
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
    Static(Box<str>),
    Param(Box<str>),
    Wildcard(Box<str>),
}

/// A parsed path template (`/a/{id}/b/{*rest}`; axum 0.7's `:id` and `*rest` are accepted too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    raw: Box<str>,
    segments: Vec<Segment>,
}

/// The non-empty segments of `path`.
fn path_segments(path: &str) -> Segments<'_> {
    Segments { rest: path }
}

impl PathTemplate {
    pub(crate) fn parse(raw: &str) -> Self {
        let segments = path_segments(raw)
            .map(|s| {
                if let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    match inner.strip_prefix('*') {
                        Some(name) => Segment::Wildcard(name.into()),
                        None => Segment::Param(inner.into()),
                    }
                } else if let Some(name) = s.strip_prefix(':') {
                    Segment::Param(name.into())
                } else if let Some(name) = s.strip_prefix('*') {
                    Segment::Wildcard(name.into())
                } else {
                    Segment::Static(s.into())
                }
            })
            .collect();
        PathTemplate {
            raw: raw.into(),
            segments,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `path` matches this template.
    pub(crate) fn matches(&self, path: &str) -> bool {
        self.capture(path, |_, _| {})
    }

    /// The percent-decoded value of the parameter `name` in `path`, a path this template
    /// matches.
    #[cfg(test)]
    pub(crate) fn param(&self, path: &str, name: &str) -> Option<String> {
        let mut found = None;
        let matched = self.capture(path, |param, value| {
            if param == name {
                found = Some(value);
            }
        });
        found.filter(|_| matched).map(parameter_value)
    }

    /// Matches `path` against this template in one pass over both, handing `visit` each
    /// parameter's name and raw value: a segment, or for a wildcard the rest of the path
    /// (read them with [`parameter_value`]). False when `path` does not match (`visit` may
    /// have been called).
    pub(crate) fn capture<'p>(&self, path: &'p str, mut visit: impl FnMut(&str, &'p str)) -> bool {
        let mut parts = path_segments(path);
        for segment in &self.segments {
            match segment {
                Segment::Static(expected) => {
                    if parts.next() != Some(&**expected) {
                        return false;
                    }
                }
                Segment::Param(name) => match parts.next() {
                    Some(value) => visit(name, value),
                    None => return false,
                },
                Segment::Wildcard(name) => {
                    visit(name, parts.rest.trim_start_matches('/'));
                    return true;
                }
            }
        }
        parts.next().is_none()
    }
}

/// The non-empty segments of a path, keeping the rest at hand (a wildcard's value).
struct Segments<'p> {
    rest: &'p str,
}

impl<'p> Iterator for Segments<'p> {
    type Item = &'p str;

    fn next(&mut self) -> Option<&'p str> {
        let rest = self.rest.trim_start_matches('/');
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let (segment, after) = rest.split_once('/').unwrap_or((rest, ""));
        self.rest = after;
        Some(segment)
    }
}

/// A parameter's value as [`PathTemplate::capture`] hands it over, percent-decoded; a
/// wildcard's rest of the path without its empty segments (`a//b/` → `a/b`).
fn parameter_value(raw: &str) -> String {
    if raw.contains('/') {
        percent_decode(&path_segments(raw).collect::<Vec<_>>().join("/")).into_owned()
    } else {
        percent_decode(raw).into_owned()
    }
}

fn percent_decode(input: &str) -> Cow<'_, str> {
    if !input.contains('%') {
        return Cow::Borrowed(input);
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
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// How the resource id of an audited request will be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdPlan {
    /// From the path.
    Known(String),
    /// From the response body's field [`Route::id_field`].
    ResponseBody,
    /// From the request body's field [`Route::id_field`].
    RequestBody,
}

/// Where the [`Route`] of a [`Target`] is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteRef {
    /// The route of the layer's rule at this index.
    Rule(usize),
    /// The route in the service's [`RouteSlot`].
    Matched,
    /// A route compiled for this request alone (a service that sees several templates).
    Fresh(Box<Route>),
}

/// What an audited request will be recorded as, as far as known before the response. Its
/// route's names are borrowed when the event is built rather than copied per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) route: RouteRef,
    pub(crate) id: IdPlan,
    pub(crate) project_id: Option<String>,
}

impl RouteRef {
    /// The route referred to, from the layer's `rules` or the service's `slot`.
    pub(crate) fn get<'a>(&'a self, rules: &'a Rules, slot: &'a RouteSlot) -> &'a Route {
        match self {
            RouteRef::Rule(index) => &rules.routes[*index],
            RouteRef::Matched => slot.get().expect("a matched target's route is in the slot"),
            RouteRef::Fresh(route) => route,
        }
    }
}

/// A route template with what it records (a rule's settings, or what the template implies),
/// worked out once so that each request only matches and reads its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    template: PathTemplate,
    /// `None` when the template names no resource (nothing is recorded).
    resource_type: Option<Box<str>>,
    action: Option<Box<str>>,
    /// Where the id comes from: the rule's source, or what the template implies.
    id: IdSource,
    project_param: Option<Box<str>>,
    /// A list or search: the id is `*`, the query goes into the metadata.
    list: bool,
}

impl Route {
    fn compile(
        template: PathTemplate,
        resource_type: Option<&str>,
        action: Option<&str>,
        id: Option<&IdSource>,
        project_param: Option<&str>,
    ) -> Self {
        let segments = &template.segments;
        // The static segment naming the resource: the one whose singular is the given type,
        // else the last static segment.
        let position = match resource_type {
            Some(wanted) => segments.iter().rposition(
                |s| matches!(s, Segment::Static(name) if resource_type_of_segment(name) == wanted),
            ),
            None => segments.iter().rposition(|s| matches!(s, Segment::Static(_))),
        };
        let resource_type = match (resource_type, position) {
            (Some(given), _) => Some(given.into()),
            (None, Some(at)) => match &segments[at] {
                Segment::Static(name) => Some(resource_type_of_segment(name).into()),
                _ => None,
            },
            (None, None) => None,
        };
        let id = match id {
            Some(source) => source.clone(),
            None => match position.and_then(|at| segments.get(at + 1)) {
                Some(Segment::Param(name)) => IdSource::PathParam(name.to_string()),
                _ => IdSource::ResponseBody("id".to_owned()),
            },
        };
        Route {
            template,
            resource_type,
            action: action.map(Box::from),
            id,
            project_param: project_param.map(Box::from),
            list: false,
        }
    }

    /// Whether the route is a list or search read ([`Rule::list`]).
    pub(crate) fn is_list(&self) -> bool {
        self.list
    }

    /// The path template.
    pub(crate) fn template(&self) -> &str {
        self.template.as_str()
    }

    /// The resource type recorded.
    pub(crate) fn resource_type(&self) -> &str {
        self.resource_type.as_deref().unwrap_or_default()
    }

    /// The action recorded for `method`.
    pub(crate) fn action<'a>(&'a self, method: &Method) -> &'a str {
        self.action
            .as_deref()
            .or_else(|| default_action(method))
            .unwrap_or_default()
    }

    /// The body field the id is read from when it is not in the path.
    pub(crate) fn id_field(&self) -> &str {
        match &self.id {
            IdSource::ResponseBody(field) | IdSource::RequestBody(field) => field,
            IdSource::PathParam(_) => "id",
        }
    }

    /// The route as it applies to one request for `path`; `None` when nothing is recorded.
    fn target(&self, method: &Method, path: &str, project_params: &[String], at: RouteRef) -> Option<Target> {
        if self.resource_type.is_none() || (self.action.is_none() && default_action(method).is_none()) {
            return None;
        }
        // One pass over the path for the id and the project (the first of the names that
        // the template has, in the order given).
        let id_param = match &self.id {
            IdSource::PathParam(name) => Some(name.as_str()),
            _ => None,
        };
        let mut id_value = None;
        let mut project: Option<(usize, &str)> = None;
        let matched = self.template.capture(path, |name, value| {
            let rank = match &self.project_param {
                Some(wanted) => (**wanted == *name).then_some(0),
                None => project_params.iter().position(|wanted| wanted == name),
            };
            if let Some(rank) = rank
                && project.as_ref().is_none_or(|(best, _)| rank < *best)
            {
                project = Some((rank, value));
            }
            if id_param == Some(name) && id_value.is_none() {
                id_value = Some(value);
            }
        });
        let id = match &self.id {
            _ if self.list => IdPlan::Known("*".to_owned()),
            IdSource::PathParam(_) => id_value
                .filter(|_| matched)
                .map_or(IdPlan::ResponseBody, |value| {
                    IdPlan::Known(parameter_value(value))
                }),
            IdSource::ResponseBody(_) => IdPlan::ResponseBody,
            IdSource::RequestBody(_) => IdPlan::RequestBody,
        };
        let project_id = project
            .filter(|_| matched)
            .map(|(_, value)| parameter_value(value));
        Some(Target {
            route: at,
            id,
            project_id,
        })
    }
}

/// The route a service's requests match (their `MatchedPath`), compiled on the first request
/// and kept by the service: in axum, each route and method gets a service of its own.
pub(crate) type RouteSlot = OnceLock<Route>;

/// The rules of one layer.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) rules: Vec<Rule>,
    /// The rules' routes, compiled, in the same order.
    routes: Vec<Route>,
    pub(crate) project_params: Vec<String>,
    /// Whether some rule covers GET, HEAD or OPTIONS (otherwise those skip everything).
    reads_covered: bool,
    /// The rules' samplers, in the same order (`None` for a rule recording every request).
    samplers: Vec<Option<Arc<Sampler>>>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            rules: Vec::new(),
            routes: Vec::new(),
            project_params: vec!["projectId".to_owned(), "project_id".to_owned()],
            reads_covered: false,
            samplers: Vec::new(),
        }
    }
}

impl Rules {
    pub(crate) fn push(&mut self, rule: Rule) {
        if !rule.skip && rule.method.as_ref().is_none_or(|m| default_action(m).is_none()) {
            self.reads_covered = true;
        }
        let mut route = Route::compile(
            rule.template.clone(),
            rule.resource_type.as_deref(),
            rule.action.as_deref(),
            rule.id.as_ref(),
            rule.project_param.as_deref(),
        );
        route.list = rule.list;
        self.routes.push(route);
        self.samplers
            .push(rule.sampling.map(|sampling| Arc::new(Sampler::new(sampling))));
        self.rules.push(rule);
    }

    /// Whether the sampling of the target's rule, if any, lets this request by `actor` be
    /// recorded, in UTC minute `minute`.
    pub(crate) fn admit(&self, route: &RouteRef, actor: &str, minute: i64) -> bool {
        match route {
            RouteRef::Rule(index) => self
                .samplers
                .get(*index)
                .and_then(Option::as_ref)
                .is_none_or(|sampler| sampler.admit(actor, minute)),
            _ => true,
        }
    }

    /// The resource types and actions the rules record (skips and rules without a resource
    /// type left out), each once, in the rules' order: what the server's catalog must accept.
    pub(crate) fn declared(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (rule, route) in self.rules.iter().zip(&self.routes) {
            let Some(resource_type) = route.resource_type.as_deref() else {
                continue;
            };
            let action = route
                .action
                .as_deref()
                .or_else(|| rule.method.as_ref().and_then(default_action));
            if let (false, Some(action)) = (rule.skip, action) {
                let pair = (resource_type.to_owned(), action.to_owned());
                if !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
        pairs
    }

    /// A cheap first look: false means the request is certainly not audited.
    pub(crate) fn may_audit(&self, method: &Method) -> bool {
        self.reads_covered || default_action(method).is_some()
    }

    /// What the request is audited as, or `None` when it is not. `slot` keeps the route of
    /// `matched` between requests.
    pub(crate) fn resolve(
        &self,
        method: &Method,
        matched: Option<&str>,
        path: &str,
        slot: &RouteSlot,
    ) -> Option<Target> {
        let params = &self.project_params[..];
        for (index, (rule, route)) in self.rules.iter().zip(&self.routes).enumerate() {
            if rule.matches(method, matched, path) {
                return if rule.skip {
                    None
                } else {
                    route.target(method, path, params, RouteRef::Rule(index))
                };
            }
        }
        default_action(method)?;
        let matched = matched?;
        let compile = || Route::compile(PathTemplate::parse(matched), None, None, None, None);
        let kept = slot.get_or_init(compile);
        if kept.template.as_str() == matched {
            kept.target(method, path, params, RouteRef::Matched)
        } else {
            let fresh = compile();
            let mut target = fresh.target(method, path, params, RouteRef::Matched)?;
            target.route = RouteRef::Fresh(Box::new(fresh));
            Some(target)
        }
    }
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
    fn templates_match_and_decode_parameters() {
        let template = PathTemplate::parse(ONE);
        let path = "/api/projects/p%201/prompts/pr_9";
        assert!(template.matches(path));
        assert_eq!(template.param(path, "projectId").as_deref(), Some("p 1"));
        assert_eq!(template.param(path, "promptId").as_deref(), Some("pr_9"));
        assert_eq!(template.param(path, "other"), None);
        assert!(!template.matches("/api/projects/p1/prompts"));
        assert!(!template.matches("/api/projects/p1/prompts/x/y"));
        assert!(!template.matches("/api/projects/p1/datasets/x"));
        let wildcard = PathTemplate::parse("/files/{*path}");
        assert!(wildcard.matches("/files/a/b.txt"));
        assert_eq!(
            wildcard.param("/files/a/b.txt", "path").as_deref(),
            Some("a/b.txt")
        );
        assert_eq!(
            wildcard.param("//files//a//b%20c.txt/", "path").as_deref(),
            Some("a/b c.txt"),
            "empty segments are dropped, the rest decoded"
        );
        assert_eq!(wildcard.param("/files", "path").as_deref(), Some(""));
        assert!(!wildcard.matches("/folders/a"));
        let old = PathTemplate::parse("/items/:id");
        assert!(old.matches("/items/7"));
        assert_eq!(old.param("/items/7", "id").as_deref(), Some("7"));
    }

    /// What a request resolves to, spelled out: resource type, action, id, project, route.
    type Resolved = (String, String, IdPlan, Option<String>, String);

    fn resolved(
        rules: &Rules,
        slot: &RouteSlot,
        method: Method,
        matched: Option<&str>,
        path: &str,
    ) -> Option<Resolved> {
        let target = rules.resolve(&method, matched, path, slot)?;
        let route = target.route.get(rules, slot);
        Some((
            route.resource_type().to_owned(),
            route.action(&method).to_owned(),
            target.id.clone(),
            target.project_id.clone(),
            route.template().to_owned(),
        ))
    }

    #[test]
    fn defaults_come_from_the_route() {
        let rules = Rules::default();
        let slot = RouteSlot::default();
        assert_eq!(
            resolved(
                &rules,
                &slot,
                Method::PATCH,
                Some(ONE),
                "/api/projects/p1/prompts/pr9"
            ),
            Some((
                "prompt".into(),
                "update".into(),
                IdPlan::Known("pr9".into()),
                Some("p1".into()),
                ONE.into()
            ))
        );
        // Another template through the same service: compiled for the request, not kept.
        let keys = "/api/projects/{projectId}/api-keys";
        let create = rules
            .resolve(&Method::POST, Some(keys), "/api/projects/p1/api-keys", &slot)
            .unwrap();
        let route = create.route.get(&rules, &slot);
        assert_eq!(
            (
                route.resource_type(),
                route.action(&Method::POST),
                route.id_field()
            ),
            ("apiKey", "create", "id")
        );
        assert_eq!(create.id, IdPlan::ResponseBody);
        assert_eq!(
            slot.get().map(Route::template),
            Some(ONE),
            "the first route stays"
        );
        assert_eq!(
            resolved(
                &rules,
                &slot,
                Method::GET,
                Some(ONE),
                "/api/projects/p1/prompts/pr9"
            ),
            None
        );
        assert_eq!(
            resolved(&rules, &slot, Method::DELETE, None, "/x/1"),
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
        let slot = RouteSlot::default();
        let label = resolved(
            &rules,
            &slot,
            Method::POST,
            None,
            "/api/projects/p1/prompts/pr9/labels",
        )
        .unwrap();
        assert_eq!(
            (&*label.0, &*label.1, &label.2, label.3.as_deref()),
            ("prompt", "setLabel", &IdPlan::Known("pr9".into()), Some("p1"))
        );
        assert_eq!(
            resolved(&rules, &slot, Method::POST, Some("/api/session"), "/api/session"),
            None
        );
        let thing = resolved(&rules, &slot, Method::PUT, None, "/things/x/y").unwrap();
        assert_eq!((thing.2, thing.3), (IdPlan::Known("y".into()), Some("x".into())));
        assert!(!rules.may_audit(&Method::GET));
        rules.push(
            Rule::any_method("/export")
                .resource_type("batchExport")
                .action("download"),
        );
        assert!(rules.may_audit(&Method::GET));
        let export = resolved(&rules, &slot, Method::GET, None, "/export").unwrap();
        assert_eq!(export.1, "download");
    }

    #[test]
    fn the_project_is_the_first_listed_name_the_template_has() {
        let mut rules = Rules {
            project_params: vec!["project".to_owned(), "workspace".to_owned()],
            ..Rules::default()
        };
        rules.push(Rule::new(
            Method::PATCH,
            "/w/{workspace}/p/{project}/items/{itemId}",
        ));
        let slot = RouteSlot::default();
        let item = resolved(&rules, &slot, Method::PATCH, None, "/w/w%201/p/p%2F2/items/i%3F3").unwrap();
        assert_eq!(
            (item.0.as_str(), item.2, item.3.as_deref()),
            ("item", IdPlan::Known("i?3".into()), Some("p/2")),
            "both decoded; `project` is listed first though `workspace` comes first in the path"
        );
        // A path the template does not match (a nested router's shortened path, say) yields
        // neither id nor project.
        let template = "/w/{workspace}/p/{project}/items/{itemId}";
        let short = resolved(&rules, &slot, Method::PATCH, Some(template), "/items/i3").unwrap();
        assert_eq!((short.2, short.3), (IdPlan::ResponseBody, None));
    }
}
