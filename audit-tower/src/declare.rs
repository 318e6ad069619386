//! Telling the server, before the first request, which resource types and actions the layer's
//! rules record, so that none of their events is refused as unknown to the catalog on a host's
//! first run.
//!
//! Only rules are declared: a route audited from its template alone names its resource type
//! when its first request arrives; give such routes a rule (or add them to the catalog) when
//! their type is not in Langfuse's table.

use audit_client::AuditClient;
use audit_core::CatalogEntry;
use uuid::Uuid;

use crate::layer::AuditLayer;

impl AuditLayer {
    /// Adds the resource types and actions of the layer's rules to organization `org_id`'s
    /// catalog (`POST /api/v1/organizations/{orgId}/catalog`, one call per resource type; the
    /// client's key needs `apiKeys:manage`). Adding what the catalog holds already changes
    /// nothing, so a host calls this at every start. Answers the entries declared.
    pub async fn declare_catalog(
        &self,
        client: &AuditClient,
        org_id: Uuid,
    ) -> audit_client::Result<Vec<CatalogEntry>> {
        let mut entries: Vec<CatalogEntry> = Vec::new();
        for (resource_type, action) in self.shared.rules.declared() {
            match entries
                .iter_mut()
                .find(|entry| entry.resource_type == resource_type)
            {
                Some(entry) => entry.actions.push(action),
                None => entries.push(CatalogEntry {
                    resource_type,
                    actions: vec![action],
                }),
            }
        }
        for entry in &entries {
            client.add_catalog_entry(org_id, entry.clone()).await?;
        }
        Ok(entries)
    }
}
