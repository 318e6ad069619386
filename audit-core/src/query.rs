//! Filters and paging of the read endpoints, and their query-string form.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ActorType, Cursor, FieldError, timestamp};

/// Which records to read. Every field is optional; set fields combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "utoipa", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct AuditLogFilter {
    /// Records stored at or after this time (RFC 3339, inclusive).
    #[cfg_attr(feature = "utoipa", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// Records stored before this time (RFC 3339, exclusive).
    #[cfg_attr(feature = "utoipa", param(value_type = Option<String>, format = DateTime))]
    pub to: Option<DateTime<Utc>>,
    /// Records of this project.
    pub project_id: Option<String>,
    /// Records by this kind of actor.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "utoipa", param(rename = "type"))]
    pub actor_type: Option<ActorType>,
    /// Records by this user.
    pub user_id: Option<String>,
    /// Records by this host-app API key.
    pub api_key_id: Option<String>,
    /// Records about this resource type.
    pub resource_type: Option<String>,
    /// Records about this resource.
    pub resource_id: Option<String>,
    /// Records of this action.
    pub action: Option<String>,
    /// Records of actions taken on behalf of this user.
    pub on_behalf_of: Option<String>,
    /// Records of actions taken by this staff member impersonating the actor.
    pub impersonated_by: Option<String>,
}

/// One page of the read endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "utoipa", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    /// Records per page, 1 to 1,000 (default 50).
    #[cfg_attr(feature = "utoipa", param(minimum = 1, maximum = 1000))]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page; absent for the newest page.
    pub cursor: Option<String>,
}

/// The default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size.
pub const MAX_PAGE_SIZE: u32 = 1000;

impl PageParams {
    /// The page size in force.
    pub fn limit_or_default(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// The decoded cursor, if any (validated by [`parse_query`]).
    pub fn decoded_cursor(&self) -> Option<Cursor> {
        self.cursor.as_deref().and_then(|text| Cursor::decode(text).ok())
    }
}

/// How a query string failed: `Malformed` (HTTP 400) for what cannot be parsed,
/// `Invalid` (HTTP 422) for what parses but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Unparsable or unknown parameters.
    Malformed(Vec<FieldError>),
    /// Parameters out of range (inverted time range, limit, over-long values).
    Invalid(Vec<FieldError>),
}

impl QueryError {
    /// The parameters at fault.
    pub fn errors(&self) -> &[FieldError] {
        match self {
            QueryError::Malformed(errors) | QueryError::Invalid(errors) => errors,
        }
    }
}

const MAX_VALUE_CHARS: usize = 256;

/// The time and actor-type filters' parameter names (the text filters' are in
/// `text_filters!` call).
const FROM: &str = "from";
const TO: &str = "to";
const ACTOR_TYPE: &str = "type";

/// Writes, from one list of `"parameterName" => field`, the filter's text fields by name, for
/// reading and for writing, so each parameter name is spelled once.
macro_rules! text_filters {
    ($($name:literal => $field:ident),* $(,)?) => {
        impl AuditLogFilter {
            /// The text filters: each parameter name and its value.
            fn text_fields(&self) -> impl Iterator<Item = (&'static str, &Option<String>)> {
                [$(($name, &self.$field)),*].into_iter()
            }

            /// The text filter called `name`, to set.
            fn text_field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $($name => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

text_filters! {
    "projectId" => project_id,
    "userId" => user_id,
    "apiKeyId" => api_key_id,
    "resourceType" => resource_type,
    "resourceId" => resource_id,
    "action" => action,
    "onBehalfOf" => on_behalf_of,
    "impersonatedBy" => impersonated_by,
}

impl AuditLogFilter {
    /// The filter as query-string pairs (for clients).
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let times = [(FROM, self.from), (TO, self.to)];
        for (name, time) in times {
            if let Some(time) = time {
                pairs.push((name, timestamp::format(&time)));
            }
        }
        if let Some(actor_type) = self.actor_type {
            pairs.push((ACTOR_TYPE, actor_type.as_str().to_owned()));
        }
        for (name, value) in self.text_fields() {
            if let Some(value) = value {
                pairs.push((name, value.clone()));
            }
        }
        pairs
    }

    /// Sets the filter called `name`; `None` if there is none of that name.
    fn set(&mut self, name: &str, value: &str) -> Option<Result<(), FieldError>> {
        let time = || {
            timestamp::parse(value)
                .map_err(|_| FieldError::new(name, "must be an RFC 3339 time, e.g. 2026-11-25T10:00:00Z"))
        };
        let result = match name {
            FROM => time().map(|time| self.from = Some(time)),
            TO => time().map(|time| self.to = Some(time)),
            ACTOR_TYPE => ActorType::parse(value)
                .map(|actor_type| self.actor_type = Some(actor_type))
                .ok_or_else(|| FieldError::new(name, "must be one of USER, API_KEY, SYSTEM")),
            _ => {
                *self.text_field_mut(name)? = Some(value.to_owned());
                Ok(())
            }
        };
        Some(result)
    }

    fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            errors.push(FieldError::new(TO, "must not be before `from`"));
        }
        for (name, value) in self.to_query_pairs() {
            if value.chars().count() > MAX_VALUE_CHARS {
                errors.push(FieldError::new(
                    name,
                    format!("must be at most {MAX_VALUE_CHARS} characters"),
                ));
            }
            if value.contains('\0') {
                errors.push(FieldError::new(name, "must not contain NUL characters"));
            }
        }
        errors
    }
}

impl PageParams {
    /// The paging as query-string pairs (for clients).
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor", cursor.clone()));
        }
        pairs
    }
}

/// A parsed query string of the read endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery<'a> {
    /// The filter.
    pub filter: AuditLogFilter,
    /// The paging.
    pub page: PageParams,
    /// The further parameters the caller asked to handle itself, as given.
    pub extra: Vec<(&'a str, &'a str)>,
}

/// Parses the read endpoint's query pairs into a filter and paging. `extra` names further
/// parameters the caller handles itself (they are passed back); any other name is an error.
pub fn parse_query<'a>(pairs: &'a [(String, String)], extra: &[&str]) -> Result<ParsedQuery<'a>, QueryError> {
    let mut filter = AuditLogFilter::default();
    let mut page = PageParams::default();
    let mut passed_back = Vec::new();
    let mut malformed = Vec::new();
    let mut invalid = Vec::new();
    let mut seen: Vec<&str> = Vec::new();

    for (name, value) in pairs {
        if seen.contains(&name.as_str()) {
            malformed.push(FieldError::new(name.clone(), "is given more than once"));
            continue;
        }
        seen.push(name);
        if let Some(set) = filter.set(name, value) {
            if let Err(error) = set {
                malformed.push(error);
            }
        } else if name == "limit" {
            match value.parse::<u32>() {
                Ok(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => page.limit = Some(limit),
                Ok(_) => invalid.push(FieldError::new(
                    "limit",
                    format!("must be between 1 and {MAX_PAGE_SIZE}"),
                )),
                Err(_) => malformed.push(FieldError::new("limit", "must be a whole number")),
            }
        } else if name == "cursor" {
            match Cursor::decode(value) {
                Ok(_) => page.cursor = Some(value.clone()),
                Err(error) => malformed.push(FieldError::new("cursor", error.to_string())),
            }
        } else if extra.contains(&name.as_str()) {
            passed_back.push((name.as_str(), value.as_str()));
        } else {
            malformed.push(FieldError::new(name.clone(), "is not a known parameter"));
        }
    }
    if !malformed.is_empty() {
        return Err(QueryError::Malformed(malformed));
    }
    invalid.extend(filter.check());
    if !invalid.is_empty() {
        return Err(QueryError::Invalid(invalid));
    }
    Ok(ParsedQuery {
        filter,
        page,
        extra: passed_back,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn every_filter_round_trips_through_the_query_string() {
        let filter = AuditLogFilter {
            from: Some(timestamp::parse("2026-11-01T00:00:00Z").unwrap()),
            to: Some(timestamp::parse("2026-11-02T00:00:00Z").unwrap()),
            project_id: Some("p_1".into()),
            actor_type: Some(ActorType::ApiKey),
            user_id: Some("u".into()),
            api_key_id: Some("k".into()),
            resource_type: Some("prompt".into()),
            resource_id: Some("pr_1".into()),
            action: Some("update".into()),
            on_behalf_of: Some("u_principal".into()),
            impersonated_by: Some("staff_7".into()),
        };
        let owned: Vec<(String, String)> = filter
            .to_query_pairs()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        let parsed = parse_query(&owned, &[]).unwrap();
        assert_eq!(parsed.filter, filter);
        assert_eq!(parsed.page, PageParams::default());
    }

    #[test]
    fn bad_parameters_are_named() {
        let error = parse_query(
            &pairs(&[
                ("from", "yesterday"),
                ("type", "ROBOT"),
                ("limit", "x"),
                ("cursor", "zz"),
                ("bogus", "1"),
            ]),
            &[],
        )
        .unwrap_err();
        let fields: Vec<&str> = error.errors().iter().map(|error| error.field.as_str()).collect();
        assert!(matches!(error, QueryError::Malformed(_)));
        assert_eq!(fields, ["from", "type", "limit", "cursor", "bogus"]);

        let error = parse_query(
            &pairs(&[
                ("from", "2026-11-02T00:00:00Z"),
                ("to", "2026-11-01T00:00:00Z"),
                ("limit", "1001"),
            ]),
            &[],
        )
        .unwrap_err();
        assert!(matches!(error, QueryError::Invalid(_)));
        let fields: Vec<&str> = error.errors().iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["limit", "to"]);
    }

    #[test]
    fn extra_parameters_are_passed_back() {
        let given = pairs(&[("format", "csv"), ("action", "create")]);
        let parsed = parse_query(&given, &["format"]).unwrap();
        assert_eq!(parsed.extra, [("format", "csv")]);
        assert_eq!(parsed.filter.action.as_deref(), Some("create"));
    }
}
