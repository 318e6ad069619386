//! Reading the trail page by page, or as one stream of records.

use audit_core::{ActorType, AuditLogFilter, AuditRecord, MAX_PAGE_SIZE, PageParams};
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::{AuditClient, Result};

/// A stream of records, newest first, that fetches the next page when the current one is
/// used up.
pub type RecordPages = BoxStream<'static, Result<AuditRecord>>;

/// The former name of [`RecordPages`] ("stream" now means log streams only).
#[deprecated(since = "0.1.0", note = "renamed to RecordPages")]
pub type RecordStream = RecordPages;

/// A filter and a page size, built fluently; pass it to [`AuditClient::list_all`] (or take
/// its parts for [`AuditClient::list`]).
///
/// ```
/// use audit_client::ListRequest;
/// use audit_core::ActorType;
///
/// let request = ListRequest::new().resource_type("dataset").actor_type(ActorType::User).page_size(200);
/// assert_eq!(request.filter().resource_type.as_deref(), Some("dataset"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    filter: AuditLogFilter,
    page_size: Option<u32>,
}

impl ListRequest {
    /// Every record, in pages of the service's default size.
    pub fn new() -> Self {
        ListRequest::default()
    }

    /// Records stored at or after `from`.
    pub fn from(mut self, from: DateTime<Utc>) -> Self {
        self.filter.from = Some(from);
        self
    }

    /// Records stored before `to`.
    pub fn to(mut self, to: DateTime<Utc>) -> Self {
        self.filter.to = Some(to);
        self
    }

    /// Records of this project.
    pub fn project_id(mut self, project_id: impl Into<String>) -> Self {
        self.filter.project_id = Some(project_id.into());
        self
    }

    /// Records by this kind of actor.
    pub fn actor_type(mut self, actor_type: ActorType) -> Self {
        self.filter.actor_type = Some(actor_type);
        self
    }

    /// Records by this user.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.filter.user_id = Some(user_id.into());
        self
    }

    /// Records by this host-app API key.
    pub fn api_key_id(mut self, api_key_id: impl Into<String>) -> Self {
        self.filter.api_key_id = Some(api_key_id.into());
        self
    }

    /// Records about this resource type.
    pub fn resource_type(mut self, resource_type: impl Into<String>) -> Self {
        self.filter.resource_type = Some(resource_type.into());
        self
    }

    /// Records about this resource.
    pub fn resource_id(mut self, resource_id: impl Into<String>) -> Self {
        self.filter.resource_id = Some(resource_id.into());
        self
    }

    /// Records of this action.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.filter.action = Some(action.into());
        self
    }

    /// Records of actions taken on behalf of this user (by an agent or API key).
    pub fn on_behalf_of(mut self, user_id: impl Into<String>) -> Self {
        self.filter.on_behalf_of = Some(user_id.into());
        self
    }

    /// Records of actions taken by this staff member impersonating the actor.
    pub fn impersonated_by(mut self, staff_id: impl Into<String>) -> Self {
        self.filter.impersonated_by = Some(staff_id.into());
        self
    }

    /// Records per page, clamped to 1..=1,000.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.clamp(1, MAX_PAGE_SIZE));
        self
    }

    /// The filter.
    pub fn filter(&self) -> &AuditLogFilter {
        &self.filter
    }

    /// The paging of the first page.
    pub fn first_page(&self) -> PageParams {
        PageParams {
            limit: self.page_size,
            cursor: None,
        }
    }

    /// The filter and the paging of the first page, for [`AuditClient::list`].
    pub fn into_parts(self) -> (AuditLogFilter, PageParams) {
        let page = self.first_page();
        (self.filter, page)
    }
}

impl From<AuditLogFilter> for ListRequest {
    fn from(filter: AuditLogFilter) -> Self {
        ListRequest {
            filter,
            page_size: None,
        }
    }
}

impl From<ListRequest> for AuditLogFilter {
    fn from(request: ListRequest) -> Self {
        request.filter
    }
}

enum Next {
    Page(PageParams),
    Done,
}

impl AuditClient {
    /// Streams every record matching the request, newest first, following `nextCursor` page
    /// after page (keyset pagination: records stored meanwhile do not shift the pages).
    ///
    /// Accepts an [`AuditLogFilter`] or a [`ListRequest`]. The stream ends after the last page
    /// or with the first error.
    ///
    /// ```no_run
    /// # async fn run(client: audit_client::AuditClient) -> audit_client::Result<()> {
    /// use audit_client::ListRequest;
    /// use futures::TryStreamExt;
    ///
    /// let mut records = client.list_all(ListRequest::new().resource_type("dataset").page_size(500));
    /// while let Some(record) = records.try_next().await? {
    ///     println!("{} {} {}", record.seq, record.action, record.resource_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, request: impl Into<ListRequest>) -> RecordPages {
        let request = request.into();
        let client = self.clone();
        let first = request.first_page();
        let filter = request.filter;
        stream::try_unfold(Next::Page(first), move |next| {
            let client = client.clone();
            let filter = filter.clone();
            async move {
                let Next::Page(params) = next else { return Ok(None) };
                let page = client.list(&filter, &params).await?;
                let next = match page.next_cursor {
                    Some(cursor) if !page.data.is_empty() => Next::Page(PageParams {
                        limit: params.limit,
                        cursor: Some(cursor),
                    }),
                    _ => Next::Done,
                };
                Ok(Some((stream::iter(page.data.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }
}
