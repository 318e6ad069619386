//! `audit-server import-langfuse`: copies a Langfuse `audit_logs` table into this server.
//!
//! Invariants:
//! - Rows are read in `(created_at, id)` order and appended in that order, one organization's
//!   rows of a page in one append, so each trail's `seq` follows Langfuse's order.
//! - Every row's event id is derived from its Langfuse id ([`event_id`]), so a re-run (or a run
//!   after a crash) meets the rows imported before as idempotent duplicates and stores only the
//!   rows it has not seen: nothing is ever imported twice.
//! - A row that cannot be recorded (an unknown `type`, a field over the size limits) stops the
//!   import before its page is written, naming the row; the pages before it stay imported.

use std::collections::HashMap;
use std::path::PathBuf;

use audit_core::{Catalog, EventLimits, EventViolation};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::langfuse_event::{LangfuseAuditRow, UnmappableRow, event_id};
use super::langfuse_source::{After, LangfuseSource};
use super::org_mapping::{MappingError, OrgMapping};
use crate::store::append::{AppendOutcome, NewRecord, append};
use crate::store::{Store, catalog, organizations};

/// Rows read and appended at a time.
pub const PAGE_ROWS: u32 = 1_000;

/// What to import and where to.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The Langfuse database (`postgres://…`).
    pub from: String,
    /// The mapping file of Langfuse organization ids to ours.
    pub mapping: PathBuf,
    /// Size limits every imported event must keep.
    pub limits: EventLimits,
    /// The pairs every organization may record (the built-in catalog and the operator's file);
    /// pairs of the imported trail beyond it are added to the organization's own catalog.
    pub catalog: Catalog,
    /// Show a progress bar on standard error (drawn only when it is a terminal).
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Rows read from Langfuse.
    pub read: u64,
    /// Records stored now.
    pub imported: u64,
    /// Rows stored by an earlier run, skipped.
    pub already_imported: u64,
    /// Langfuse organization id → ours.
    pub organizations: std::collections::BTreeMap<String, Uuid>,
    /// The organizations this run created (their Langfuse ids).
    pub created_organizations: Vec<String>,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The Langfuse database failed.
    #[error("reading Langfuse's audit_logs: {0}")]
    Source(#[from] sea_orm::sqlx::Error),
    /// This server's database failed.
    #[error("writing the audit trail: {0}")]
    Store(#[from] sea_orm::DbErr),
    /// The mapping file failed.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The mapping file names an organization this server does not have.
    #[error("the mapping file maps Langfuse organization {langfuse} to {ours}, which does not exist here")]
    UnknownOrganization {
        /// The Langfuse organization id.
        langfuse: String,
        /// Our organization id from the file.
        ours: Uuid,
    },
    /// A row cannot be recorded.
    #[error(transparent)]
    Row(#[from] UnmappableRow),
    /// A row was imported before with different content (the mapping or the row changed).
    #[error("Langfuse audit log {0} was imported before with different content")]
    Conflict(String),
}

/// Imports every row of the Langfuse table at `options.from` not imported yet into `store`.
pub async fn import(store: &Store, options: &ImportOptions) -> Result<ImportReport, ImportError> {
    let source = LangfuseSource::connect(&options.from).await?;
    let result = import_from(store, &source, options).await;
    source.close().await;
    result
}

async fn import_from(
    store: &Store,
    source: &LangfuseSource,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let mut orgs = Organizations {
        mapping: OrgMapping::load(&options.mapping)?,
        catalogs: HashMap::new(),
        created: Vec::new(),
    };
    let progress = progress_bar(options.progress, source.count().await?);
    let mut report = ImportReport::default();
    let mut after: Option<After> = None;
    loop {
        let rows = source.page(after.as_ref(), PAGE_ROWS).await?;
        let Some(last) = rows.last() else { break };
        after = Some(After {
            created_at: last.created_at,
            id: last.id.clone(),
        });
        let page = prepare_page(&rows, options)?;
        for (langfuse_org, records) in page {
            let org_id = orgs.resolve(store, source, &langfuse_org).await?;
            orgs.extend_catalog(store, org_id, &records, &options.catalog)
                .await?;
            let langfuse_ids: HashMap<Uuid, &str> = rows
                .iter()
                .filter(|row| row.org_id == langfuse_org)
                .map(|row| (event_id(&row.id), row.id.as_str()))
                .collect();
            for outcome in append(store, org_id, None, records).await? {
                match outcome {
                    AppendOutcome::Created(_) => report.imported += 1,
                    AppendOutcome::Duplicate(_) => report.already_imported += 1,
                    AppendOutcome::Conflict(id) => {
                        let langfuse_id = langfuse_ids.get(&id).copied().unwrap_or_default();
                        return Err(ImportError::Conflict(langfuse_id.to_owned()));
                    }
                }
            }
        }
        report.read += rows.len() as u64;
        progress.set_position(report.read);
        if progress.length().is_some_and(|length| report.read > length) {
            progress.set_length(report.read);
        }
    }
    progress.finish_and_clear();
    report.organizations = orgs.mapping.entries().clone();
    report.created_organizations = orgs.created;
    Ok(report)
}

/// A page's rows as records, by Langfuse organization in order of first appearance, each
/// organization's in the page's order; checked before anything of the page is written.
fn prepare_page(
    rows: &[LangfuseAuditRow],
    options: &ImportOptions,
) -> Result<Vec<(String, Vec<NewRecord>)>, UnmappableRow> {
    let mut page: Vec<(String, Vec<NewRecord>)> = Vec::new();
    for row in rows {
        let event = row.to_event()?;
        if let Err(violation) = event.validate(&options.limits) {
            let fields: Vec<String> = violation
                .errors()
                .iter()
                .map(|error| format!("{} {}", error.field, error.message))
                .collect();
            let hint = match violation {
                EventViolation::TooLarge(_) => " (raise --max-state-bytes to import it)",
                EventViolation::Invalid(_) => "",
            };
            return Err(UnmappableRow {
                id: row.id.clone(),
                message: format!("{}{hint}", fields.join("; ")),
            });
        }
        let record = NewRecord::from_submitted(event);
        match page.iter_mut().find(|(org, _)| *org == row.org_id) {
            Some((_, records)) => records.push(record),
            None => page.push((row.org_id.clone(), vec![record])),
        }
    }
    Ok(page)
}

/// The organizations met so far.
struct Organizations {
    mapping: OrgMapping,
    /// Each organization's catalog as extended by this run.
    catalogs: HashMap<Uuid, Catalog>,
    created: Vec<String>,
}

impl Organizations {
    /// Our organization for `langfuse_org`: the mapped one, or a new one (named as in Langfuse
    /// when its `organizations` table says) recorded in the mapping file at once.
    async fn resolve(
        &mut self,
        store: &Store,
        source: &LangfuseSource,
        langfuse_org: &str,
    ) -> Result<Uuid, ImportError> {
        if let Some(ours) = self.mapping.get(langfuse_org) {
            if let std::collections::hash_map::Entry::Vacant(entry) = self.catalogs.entry(ours) {
                if organizations::find(store, ours).await?.is_none() {
                    return Err(ImportError::UnknownOrganization {
                        langfuse: langfuse_org.to_owned(),
                        ours,
                    });
                }
                entry.insert(catalog::extension(store, ours).await?);
            }
            return Ok(ours);
        }
        let name = source
            .organization_name(langfuse_org)
            .await?
            .unwrap_or_else(|| format!("Langfuse organization {langfuse_org}"));
        let org = organizations::create(store, &name).await?;
        self.mapping.insert(langfuse_org, org.id)?;
        self.catalogs.insert(org.id, Catalog::new());
        self.created.push(langfuse_org.to_owned());
        Ok(org.id)
    }

    /// Adds the pairs of `records` that neither `base` nor the organization's catalog has, so
    /// that the imported kinds of events can be filtered on and recorded again.
    async fn extend_catalog(
        &mut self,
        store: &Store,
        org_id: Uuid,
        records: &[NewRecord],
        base: &Catalog,
    ) -> Result<(), ImportError> {
        let known = self.catalogs.entry(org_id).or_default();
        let mut missing: HashMap<&str, Vec<String>> = HashMap::new();
        for record in records {
            let (resource_type, action) = (&record.event.resource_type, &record.event.action);
            if base.allows(resource_type, action) || known.allows(resource_type, action) {
                continue;
            }
            known.add(resource_type.clone(), action.clone());
            missing.entry(resource_type).or_default().push(action.clone());
        }
        for (resource_type, actions) in missing {
            catalog::add(store, org_id, resource_type, &actions).await?;
        }
        Ok(())
    }
}

fn progress_bar(shown: bool, total: u64) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    // Drawn on standard error only when it is a terminal (indicatif hides it otherwise).
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)") {
        bar.set_style(style);
    }
    bar
}
