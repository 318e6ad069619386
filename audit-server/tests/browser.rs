//! The web viewer in a real browser: headless Chromium through chromedriver against an
//! in-process server. Without `chromedriver` on PATH the browser test prints a skip line.
//!
//! `AUDIT_UPDATE_SCREENSHOTS=1` also writes the screenshots to `audit-server/docs/`.

#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/proofs.rs"]
mod proofs;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use audit_core::{Role, Scope};
use audit_server::keys::viewer_token::{self, ViewerGrant};
use audit_server::testing::TestServer;
use chrono::{SecondsFormat, Utc};
use driver::{Browser, SKIP_LINE, WAIT, chromedriver_path};
use fantoccini::key::Key;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// The viewer's files: content types, caching, a strict policy, and no place in the API document.
#[tokio::test]
async fn viewer_files_are_served_with_a_strict_policy() {
    let server = TestServer::start_sqlite().await;
    for (path, content_type, marker) in [
        ("/", "text/html; charset=utf-8", "<table"),
        ("/viewer.js", "text/javascript; charset=utf-8", "__viewerErrors"),
        ("/viewer.css", "text/css; charset=utf-8", "prefers-color-scheme"),
    ] {
        let response = server.http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(headers["cache-control"], "no-cache", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'self'"), "{path}: {policy}");
        assert!(
            !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(response.text().await.unwrap().contains(marker), "{path}");

        let revalidated = server
            .http()
            .get(server.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{path} revalidates");
    }
    let document: Value = server
        .http()
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = document["paths"].as_object().unwrap();
    for viewer_path in ["/", "/viewer.js", "/viewer.css"] {
        assert!(
            !paths.contains_key(viewer_path),
            "{viewer_path} is not part of the API"
        );
    }
    let missing = server.http().get(server.url("/viewer.map")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

/// The whole viewer: token handling, table, filters, URL state, paging, detail and diff,
/// download, project scope, expired and tampered links, and no JavaScript errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_in_a_real_browser() {
    let Some(chromedriver) = chromedriver_path() else {
        println!("{SKIP_LINE}");
        eprintln!("{SKIP_LINE}");
        return;
    };
    let server = TestServer::start_sqlite().await;
    let org = server.create_org("Acme").await;
    let key = server.create_key(org.id, &Scope::ALL).await;
    let seeded = seed(&server, &key.secret).await;

    let browser = Browser::start(&chromedriver).await;
    let minted = mint(
        &server,
        &key.secret,
        json!({ "userId": "u_alice", "orgRole": "ADMIN" }),
    )
    .await;
    let token = minted["token"].as_str().unwrap().to_owned();
    org_wide_view(&browser, &server, &key.secret, &minted, &seeded).await;
    assert_no_viewer_errors(&browser, "the organization-wide view").await;

    let project = mint(
        &server,
        &key.secret,
        json!({ "userId": "u_carol", "orgRole": "MEMBER", "projectId": "checkout", "projectRole": "ADMIN" }),
    )
    .await;
    project_view(&browser, &server, &key.secret, &project).await;
    assert_no_viewer_errors(&browser, "the project view").await;

    live_view(&browser, &server, &key.secret, &project).await;
    assert_no_viewer_errors(&browser, "the live view").await;

    refused_links(&browser, &server, &token, &key, org.id).await;
    assert_no_viewer_errors(&browser, "the refused links").await;
    browser.close().await;
}

/// What the seed made: the ids the steps look for.
struct Seeded {
    /// The prompt update with nested changes.
    nested_update: String,
    /// How many prompt events.
    prompts: usize,
    /// Every seeded event.
    total: usize,
    /// The update an agent made on behalf of u_alice.
    on_behalf: String,
    /// The update staff_sam made impersonating u_erin.
    impersonated: String,
}

/// Records a realistic trail: several resource types, projects and actors, nested changes,
/// `occurredAt` spread over the last hours (all recorded now).
async fn seed(server: &TestServer, secret: &str) -> Seeded {
    let user = |id: &str, role: &str| json!({ "type": "USER", "userId": id, "userOrgRole": role });
    let mut events: Vec<Value> = Vec::new();
    let mut push =
        |actor: Value, project: Option<&str>, resource: (&str, &str, &str), before: Value, after: Value| {
            let mut event = actor;
            event["resourceType"] = json!(resource.0);
            event["resourceId"] = json!(resource.1);
            event["action"] = json!(resource.2);
            if let Some(project) = project {
                event["projectId"] = json!(project);
            }
            if !before.is_null() {
                event["before"] = before;
            }
            if !after.is_null() {
                event["after"] = after;
            }
            event["ipAddress"] = json!("203.0.113.7");
            event["userAgent"] = json!("Mozilla/5.0 (X11; Linux x86_64) AcmeConsole/4.2");
            events.push(event);
        };
    let alice = || {
        let mut actor = user("u_alice", "ADMIN");
        actor["userProjectRole"] = json!("OWNER");
        actor
    };
    let api_key = || json!({ "type": "API_KEY", "apiKeyId": "key_ci_deploy" });

    push(
        alice(),
        Some("checkout"),
        ("prompt", "pr_welcome", "create"),
        Value::Null,
        json!({ "name": "welcome", "prompt": "Hi", "config": { "temperature": 0.2, "model": "gpt-4o" }, "labels": ["draft"] }),
    );
    push(
        user("u_bob", "OWNER"),
        None,
        ("project", "checkout", "update"),
        json!({ "name": "Checkout", "retentionDays": 30 }),
        json!({ "name": "Checkout", "retentionDays": 90 }),
    );
    push(
        api_key(),
        Some("search"),
        ("dataset", "ds_queries", "create"),
        Value::Null,
        json!({ "name": "queries", "description": "Search queries", "schema": { "input": "string" } }),
    );
    for version in 1..=6 {
        push(
            alice(),
            Some("search"),
            ("prompt", &format!("pr_rank_{version}"), "update"),
            json!({ "version": version, "text": "Rank the results" }),
            json!({ "version": version + 1, "text": "Rank the results" }),
        );
    }
    push(
        user("u_dave", "MEMBER"),
        Some("checkout"),
        ("prompt", "pr_faq", "update"),
        json!({ "prompt": "Hi" }),
        json!({ "prompt": "Hello" }),
    );
    push(
        api_key(),
        Some("checkout"),
        ("llmApiKey", "llm_openai", "update"),
        json!({ "provider": "openai", "settings": { "baseUrl": "https://api.example.com/v1", "timeoutMs": 30000 } }),
        json!({ "provider": "openai", "settings": { "baseUrl": "https://api.example.com/v2", "retries": 3 } }),
    );
    push(
        user("u_bob", "OWNER"),
        None,
        ("membership", "m_erin", "create"),
        Value::Null,
        json!({ "userId": "u_erin", "role": "MEMBER" }),
    );
    for index in 1..=5 {
        push(
            alice(),
            Some("checkout"),
            ("prompt", &format!("pr_banner_{index}"), "setLabel"),
            json!({ "labels": ["staging"] }),
            json!({ "labels": ["staging", "production"] }),
        );
    }
    push(
        user("u_dave", "MEMBER"),
        Some("search"),
        ("datasetItem", "dsi_42", "delete"),
        json!({ "input": "red shoes", "expectedOutput": "shoes/red" }),
        Value::Null,
    );
    push(
        json!({ "type": "SYSTEM" }),
        Some("search"),
        ("trace", "tr_7f3a", "delete"),
        json!({ "name": "search-request", "retained": true }),
        Value::Null,
    );
    push(
        user("u_bob", "OWNER"),
        None,
        ("apiKey", "key_ci_deploy", "update"),
        json!({ "note": "CI" }),
        json!({ "note": "CI deploys" }),
    );
    push(
        json!({ "type": "API_KEY", "apiKeyId": "agent_support_bot", "onBehalfOf": "u_alice" }),
        Some("search"),
        ("dataset", "ds_queries", "update"),
        json!({ "description": "Search queries" }),
        json!({ "description": "Queries users searched for" }),
    );
    let mut staff = user("u_erin", "MEMBER");
    staff["impersonatedBy"] = json!("staff_sam");
    push(
        staff,
        None,
        ("membership", "m_frank", "delete"),
        json!({ "userId": "u_frank", "role": "VIEWER" }),
        Value::Null,
    );
    push(
        alice(),
        Some("checkout"),
        ("prompt", "pr_welcome", "update"),
        json!({ "name": "welcome", "prompt": "Hi", "config": { "temperature": 0.2, "model": "gpt-4o" }, "labels": ["draft"] }),
        json!({ "name": "welcome", "prompt": "Hello", "config": { "temperature": 0.7, "model": "gpt-4o", "maxTokens": 512 }, "labels": ["draft"] }),
    );

    let total = events.len();
    let position = |field: &str| {
        events
            .iter()
            .position(|event| event.get(field).is_some())
            .unwrap()
    };
    let (on_behalf, impersonated) = (position("onBehalfOf"), position("impersonatedBy"));
    let now = Utc::now();
    for (index, event) in events.iter_mut().enumerate() {
        let minutes = i64::try_from((total - index) * 9).unwrap();
        event["occurredAt"] =
            json!((now - chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Millis, true));
        event["requestId"] = json!(format!("req-{:04x}", 0x2a00 + index));
    }
    let prompts = events
        .iter()
        .filter(|event| event["resourceType"] == "prompt")
        .count();
    let response: Value = server
        .http()
        .post(server.url("/api/v1/audit-logs/batch"))
        .bearer_auth(secret)
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let results = response["results"].as_array().unwrap();
    assert!(
        results.iter().all(|result| result["status"] == "created"),
        "seeding: {response:#}"
    );
    Seeded {
        nested_update: results[total - 1]["id"].as_str().unwrap().to_owned(),
        prompts,
        total,
        on_behalf: results[on_behalf]["id"].as_str().unwrap().to_owned(),
        impersonated: results[impersonated]["id"].as_str().unwrap().to_owned(),
    }
}

async fn mint(server: &TestServer, secret: &str, body: Value) -> Value {
    let response = server
        .http()
        .post(server.url("/api/v1/viewer-tokens"))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The link the server made, on the test server's real address (its configuration says port 0).
fn link(server: &TestServer, minted: &Value) -> String {
    let url = minted["url"].as_str().unwrap();
    let fragment = url.split_once("/#").expect("the url carries a fragment").1;
    assert!(fragment.starts_with("token=vt_"), "{url}");
    format!("{}/#{fragment}", server.base_url())
}

const ROW_COUNT: &str = "return document.querySelectorAll('#rows tr[data-id]').length";

async fn row_count(browser: &Browser) -> u64 {
    browser.js(ROW_COUNT, vec![]).await.as_u64().unwrap()
}

async fn wait_rows(browser: &Browser, what: &str, count: usize) {
    let script = format!(
        "return document.querySelector('#results').getAttribute('aria-busy') === 'false' && {}.length === {count};",
        "document.querySelectorAll('#rows tr[data-id]')"
    );
    browser
        .wait_until(&format!("{count} rows ({what})"), &script)
        .await;
}

/// A column of every row, as shown.
async fn column(browser: &Browser, class: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll('#rows tr[data-id] td.{class}')].map((cell) => cell.innerText.trim());"
    );
    serde_json::from_value(browser.js(&script, vec![]).await).unwrap()
}

async fn first_row_id(browser: &Browser) -> String {
    browser
        .js(
            "return document.querySelector('#rows tr[data-id]').dataset.id;",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the URL names no open record: the dialog's `close` event, which takes it out,
/// fires a moment after the dialog has closed.
async fn wait_for_the_record_to_leave_the_url(browser: &Browser) {
    browser
        .wait_until(
            "the record to leave the URL",
            "return !location.search.includes('event=');",
        )
        .await;
}

async fn query_string(browser: &Browser) -> String {
    browser
        .js("return location.search;", vec![])
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn org_wide_view(
    browser: &Browser,
    server: &TestServer,
    secret: &str,
    minted: &Value,
    seeded: &Seeded,
) {
    // Everything seeded, the key's creation and the minting of this token, newest first.
    let everything = api_count(server, secret, "").await;
    assert_eq!(everything, seeded.total + 2);
    browser.client.goto(&link(server, minted)).await.unwrap();
    wait_rows(browser, "first load", everything).await;
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), None, "the token leaves the visible URL: {url}");
    let stored = browser
        .js("return sessionStorage.getItem('auditViewer.token');", vec![])
        .await;
    assert_eq!(stored, minted["token"], "the token is kept for reloads");
    assert!(browser.text("#scope").await.contains("Viewing as u_alice"));
    assert_eq!(
        column(browser, "col-rtype").await[..2],
        ["viewerToken".to_owned(), "prompt".to_owned()],
        "newest first"
    );
    let changes = column(browser, "col-changes").await;
    assert!(changes.contains(&"prompt: Hi → Hello".to_owned()), "{changes:?}");
    assert!(changes.contains(&"+1 ~2 fields".to_owned()), "{changes:?}");
    let actors = column(browser, "col-actor").await;
    assert!(
        actors
            .iter()
            .any(|actor| actor.contains("API key") && actor.contains("key_ci_deploy"))
    );
    assert!(
        actors
            .iter()
            .any(|actor| actor.contains("Org Admin · Project Owner"))
    );
    delegated_actors(browser, seeded).await;
    let time_title = browser
        .js(
            "return document.querySelector('#rows tr[data-id] time').title;",
            vec![],
        )
        .await;
    assert!(
        time_title.as_str().unwrap().contains("Z (UTC)"),
        "UTC on hover: {time_title}"
    );
    let catalog_types = browser
        .js(
            "return [...document.querySelectorAll('#f-type option')].map((o) => o.value);",
            vec![],
        )
        .await;
    assert!(
        catalog_types
            .as_array()
            .unwrap()
            .iter()
            .any(|value| value == "prompt"),
        "resource types come from the catalog"
    );
    save_screenshot(browser, "viewer-table.png").await;

    // Resource type filter: applied on change, kept in the URL.
    browser
        .element("#f-type")
        .await
        .select_by_value("prompt")
        .await
        .unwrap();
    wait_rows(browser, "prompt filter", seeded.prompts).await;
    assert!(
        column(browser, "col-rtype")
            .await
            .iter()
            .all(|value| value == "prompt")
    );
    assert!(query_string(browser).await.contains("resourceType=prompt"));

    // A small page size, then forward and back.
    browser
        .element("#page-size")
        .await
        .select_by_value("10")
        .await
        .unwrap();
    wait_rows(browser, "page 1 of prompts", 10).await;
    let first_page_top = first_row_id(browser).await;
    browser.wait_for_text("#page-info", "Page 1 · events 1–10").await;
    assert_eq!(
        browser
            .js("return document.querySelector('#prev').disabled;", vec![])
            .await,
        true
    );
    browser.click("#next").await;
    wait_rows(browser, "page 2 of prompts", seeded.prompts - 10).await;
    browser
        .wait_for_text("#page-info", &format!("Page 2 · events 11–{}", seeded.prompts))
        .await;
    assert_eq!(
        browser
            .js("return document.querySelector('#next').disabled;", vec![])
            .await,
        true,
        "the last page"
    );
    assert_ne!(first_row_id(browser).await, first_page_top);
    browser.click("#prev").await;
    wait_rows(browser, "back on page 1", 10).await;
    assert_eq!(first_row_id(browser).await, first_page_top, "previous goes back");

    // A custom time range that excludes everything (the trail was recorded now).
    browser
        .element("#f-range")
        .await
        .select_by_value("custom")
        .await
        .unwrap();
    browser.element("#f-from:not([hidden])").await;
    browser
        .js(
            "const set = (id, value) => { const input = document.getElementById(id); input.value = value; \
             input.dispatchEvent(new Event('input', { bubbles: true })); }; \
             set('f-from', '2020-01-01T00:00'); set('f-to', '2020-01-02T00:00'); return true;",
            vec![],
        )
        .await;
    browser.click("#filters button[type=submit]").await;
    browser
        .wait_for_text("#empty", "No events match these filters")
        .await;
    assert_eq!(row_count(browser).await, 0);
    browser
        .wait_for_text("#status", "No events match these filters")
        .await;
    let search = query_string(browser).await;
    assert!(
        search.contains("range=custom") && search.contains("from=2020-01-01") && search.contains("limit=10"),
        "{search}"
    );

    // A reload keeps the filters (URL) and the token (sessionStorage).
    browser.client.refresh().await.unwrap();
    browser
        .wait_for_text("#empty", "No events match these filters")
        .await;
    assert_eq!(
        browser
            .js("return document.querySelector('#f-type').value;", vec![])
            .await,
        "prompt"
    );
    assert_eq!(
        browser
            .js("return document.querySelector('#f-range').value;", vec![])
            .await,
        "custom"
    );

    // The link to share holds the filters and never the token.
    browser.click("#copy-link").await;
    browser
        .wait_until(
            "the link to be copied or shown",
            "const text = document.querySelector('#status').textContent; \
             return text.includes('copied') || text.includes('resourceType=prompt');",
        )
        .await;
    assert!(!browser.text("#status").await.contains("vt_"));

    // A range that includes the trail.
    browser
        .element("#f-range")
        .await
        .select_by_value("1h")
        .await
        .unwrap();
    wait_rows(browser, "last hour", 10).await;
    assert!(query_string(browser).await.contains("range=1h"));

    // Download the current filter as CSV: fetched with the token, saved by the browser.
    browser.click("#download-csv").await;
    browser.wait_for_text("#status", "Downloaded audit-logs-").await;
    let csv = wait_for_download(&browser.downloads(), "csv").await;
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("id,orgId,seq,createdAt"));
    assert_eq!(lines.count(), seeded.prompts, "the filtered prompts only");
    browser.click("#download-jsonl").await;
    let jsonl = wait_for_download(&browser.downloads(), "jsonl").await;
    let records: Vec<Value> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), seeded.prompts);
    assert!(records.iter().all(|record| record["resourceType"] == "prompt"));

    // The record with nested changes, opened from its row with the keyboard.
    browser
        .element("#f-resource")
        .await
        .send_keys("pr_welcome")
        .await
        .unwrap();
    browser.click("#filters button[type=submit]").await;
    wait_rows(browser, "pr_welcome", 2).await;
    let opener = format!("#rows tr[data-id=\"{}\"] .row-open", seeded.nested_update);
    browser
        .element(&opener)
        .await
        .send_keys(&Key::Enter)
        .await
        .unwrap();
    browser.element("#detail[open]").await;
    let focused = browser.js("return document.activeElement.id;", vec![]).await;
    assert_eq!(focused, "detail-close", "focus moves into the dialog");
    for (path, kind, before, after) in [
        ("prompt", "changed", "Hi", "Hello"),
        ("config.temperature", "changed", "0.2", "0.7"),
        ("config.maxTokens", "added", "—", "512"),
    ] {
        let row = browser
            .js(
                "const row = document.querySelector(`#detail .diff tr[data-path=\"${arguments[0]}\"]`); \
                 return row && { kind: row.className, cells: [...row.children].map((cell) => cell.innerText.trim()) };",
                vec![json!(path)],
            )
            .await;
        assert_eq!(row["kind"], format!("diff-{kind}"), "{path}: {row}");
        assert_eq!(row["cells"][1], path);
        assert_eq!(row["cells"][2], before, "{path} before");
        assert_eq!(row["cells"][3], after, "{path} after");
    }
    assert_eq!(
        browser
            .js(
                "return document.querySelectorAll('#detail .diff tbody tr').length;",
                vec![]
            )
            .await,
        3,
        "unchanged fields are not listed"
    );
    let states = browser.text("#detail .side-by-side").await;
    assert!(states.contains("\"temperature\": 0.2") && states.contains("\"temperature\": 0.7"));
    let fields = browser.text("#detail dl.fields").await;
    assert!(fields.contains(&seeded.nested_update) && fields.contains("203.0.113.7"));
    assert!(
        query_string(browser)
            .await
            .contains(&format!("event={}", seeded.nested_update))
    );
    save_screenshot(browser, "viewer-diff.png").await;

    // Escape closes it and gives focus back to the row.
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Escape)
        .await
        .unwrap();
    browser
        .wait_until(
            "the dialog to close",
            "return !document.querySelector('#detail').open;",
        )
        .await;
    let focused = browser
        .js(
            "return document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.id;",
            vec![],
        )
        .await;
    assert_eq!(focused, json!(seeded.nested_update), "focus returns to the row");
    wait_for_the_record_to_leave_the_url(browser).await;
}

/// How many records the read endpoint answers for `query` (all fit in one page here).
/// The delegated actors on their rows and in the record dialog.
async fn delegated_actors(browser: &Browser, seeded: &Seeded) {
    let actor_of = |id: &str| {
        format!("return document.querySelector('#rows tr[data-id=\"{id}\"] td.col-actor').innerText;")
    };
    let agent = browser.js(&actor_of(&seeded.on_behalf), vec![]).await;
    let agent = agent.as_str().unwrap();
    assert!(
        agent.contains("agent_support_bot") && agent.contains("on behalf of u_alice"),
        "{agent}"
    );
    let staff = browser.js(&actor_of(&seeded.impersonated), vec![]).await;
    let staff = staff.as_str().unwrap();
    assert!(
        staff.contains("u_erin") && staff.contains("impersonated by staff_sam"),
        "{staff}"
    );
    assert!(!staff.contains("on behalf of"), "{staff}");

    for (id, shown, field) in [
        (&seeded.on_behalf, "on behalf of u_alice", "onBehalfOf"),
        (
            &seeded.impersonated,
            "impersonated by staff_sam",
            "impersonatedBy",
        ),
    ] {
        browser
            .click(&format!("#rows tr[data-id=\"{id}\"] .row-open"))
            .await;
        browser.element("#detail[open]").await;
        let subtitle = browser.text("#detail-subtitle").await;
        assert!(subtitle.contains(shown), "{subtitle}");
        let fields = browser.text("#detail dl.fields").await;
        assert!(fields.contains(field), "{fields}");
        browser.click("#detail-close").await;
        browser
            .wait_until(
                "the dialog to close",
                "return !document.querySelector('#detail').open;",
            )
            .await;
        wait_for_the_record_to_leave_the_url(browser).await;
    }
}

async fn api_count(server: &TestServer, secret: &str, query: &str) -> usize {
    let page: Value = server
        .http()
        .get(server.url(&format!("/api/v1/audit-logs?limit=1000&{query}")))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["nextCursor"].is_null());
    page["data"].as_array().unwrap().len()
}

async fn wait_for_download(dir: &Path, extension: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|ext| ext == extension));
        if let Some(path) = found
            && let Ok(text) = std::fs::read_to_string(&path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no .{extension} download in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn project_view(browser: &Browser, server: &TestServer, secret: &str, minted: &Value) {
    let expected = api_count(server, secret, "projectId=checkout").await;
    browser.client.goto(&link(server, minted)).await.unwrap();
    wait_rows(browser, "the project's events", expected).await;
    let projects = column(browser, "col-project").await;
    assert!(
        projects.iter().all(|project| project == "checkout"),
        "only its project: {projects:?}"
    );
    assert!(browser.text("#scope").await.contains("Project checkout"));
    let project_input = browser
        .js(
            "const input = document.querySelector('#f-project'); return [input.value, input.disabled];",
            vec![],
        )
        .await;
    assert_eq!(project_input, json!(["checkout", true]));

    // A row opens by click; the open record is in the URL, so a reload shows it again.
    let id = first_row_id(browser).await;
    browser
        .click(&format!("#rows tr[data-id=\"{id}\"] td.col-rtype"))
        .await;
    browser.element("#detail[open]").await;
    assert!(query_string(browser).await.contains(&format!("event={id}")));
    browser.client.refresh().await.unwrap();
    browser.element("#detail[open]").await;
    browser.wait_for_text("#detail dl.fields", &id).await;
    browser.click("#detail-close").await;
    browser
        .wait_until(
            "the dialog to close",
            "return !document.querySelector('#detail').open;",
        )
        .await;
    wait_for_the_record_to_leave_the_url(browser).await;

    // The server goes away: a clear error, the page stays usable, and it recovers.
    server.stop().await;
    browser.click("#filters button[type=submit]").await;
    browser
        .wait_for_text("#error", "Could not reach the audit log server")
        .await;
    browser.wait_for_text("#status", "Could not load events.").await;
    assert_eq!(
        browser
            .js("return document.querySelector('#empty').hidden;", vec![])
            .await,
        true,
        "a failure is not reported as an empty result"
    );
    server.restart().await;
    browser.click("#filters button[type=submit]").await;
    wait_rows(browser, "the project's events again", expected).await;
    assert_eq!(
        browser
            .js("return document.querySelector('#error').hidden;", vec![])
            .await,
        true
    );

    // One actor input: a key-like id filters by `apiKeyId`, anything else by `userId`.
    for (actor, parameter, resource) in [
        ("key_ci_deploy", "apiKeyId=key_ci_deploy", "llm_openai"),
        ("u_dave", "userId=u_dave", "pr_faq"),
    ] {
        let input = browser.element("#f-actor").await;
        input.clear().await.unwrap();
        input
            .send_keys(&format!("{actor}{}", &*Key::Enter))
            .await
            .unwrap();
        wait_rows(browser, actor, 1).await;
        assert!(query_string(browser).await.contains(parameter), "{actor}");
        assert_eq!(column(browser, "col-rid").await, [resource]);
    }
}

/// Records one event through the API and answers its id.
async fn record_now(server: &TestServer, secret: &str, project: &str, resource_id: &str) -> String {
    let response = server
        .http()
        .post(server.url("/api/v1/audit-logs"))
        .bearer_auth(secret)
        .json(&json!({
            "type": "USER", "userId": "u_live", "userOrgRole": "ADMIN", "projectId": project,
            "resourceType": "prompt", "resourceId": resource_id, "action": "update",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let record: Value = response.json().await.unwrap();
    record["id"].as_str().unwrap().to_owned()
}

/// Live on: an event recorded in the token's project appears at the top without a reload,
/// another project's does not; Live off: nothing more appears.
async fn live_view(browser: &Browser, server: &TestServer, secret: &str, minted: &Value) {
    let expected = api_count(server, secret, "projectId=checkout").await;
    browser.client.goto(&link(server, minted)).await.unwrap();
    wait_rows(browser, "before going live", expected).await;
    browser.click("#live").await;
    browser
        .wait_until(
            "the live tail to connect",
            "return document.querySelector('#live-toggle').classList.contains('is-live');",
        )
        .await;
    let elsewhere = record_now(server, secret, "billing", "pr_live_elsewhere").await;
    let here = record_now(server, secret, "checkout", "pr_live_here").await;
    wait_rows(browser, "the live event", expected + 1).await;
    assert_eq!(first_row_id(browser).await, here, "the new event is at the top");
    let ids: Vec<String> = serde_json::from_value(
        browser
            .js(
                "return [...document.querySelectorAll('#rows tr[data-id]')].map((row) => row.dataset.id);",
                vec![],
            )
            .await,
    )
    .unwrap();
    assert!(!ids.contains(&elsewhere), "another project's event is not shown");
    // The new row opens like any other.
    browser
        .click(&format!("#rows tr[data-id=\"{here}\"] td.col-rtype"))
        .await;
    browser.wait_for_text("#detail dl.fields", "pr_live_here").await;
    browser.click("#detail-close").await;

    browser.click("#live").await;
    browser
        .wait_until(
            "the live tail to stop",
            "return !document.querySelector('#live-toggle').classList.contains('is-live');",
        )
        .await;
    record_now(server, secret, "checkout", "pr_after_live").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        row_count(browser).await,
        (expected + 1) as u64,
        "Live off shows nothing new"
    );
}

async fn refused_links(
    browser: &Browser,
    server: &TestServer,
    token: &str,
    key: &audit_core::CreatedApiKey,
    org_id: uuid::Uuid,
) {
    // Tampered: one character of the signature changed.
    let (claims, signature) = token.split_once('.').unwrap();
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{claims}.{}", String::from_utf8(flipped).unwrap());
    // A fresh page, as when a link is opened in a new tab.
    browser.client.goto("about:blank").await.unwrap();
    browser
        .client
        .goto(&format!("{}/#token={tampered}", server.base_url()))
        .await
        .unwrap();
    browser
        .wait_for_text("#gate", "This link is not valid. Ask the app for a new one.")
        .await;
    assert_eq!(
        browser
            .js("return document.querySelector('#app').hidden;", vec![])
            .await,
        true
    );

    // Expired: signed with the server's own key as if minted an hour ago.
    let db = Database::connect(server.database_url()).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT value FROM server_secrets",
        ))
        .await
        .unwrap()
        .unwrap();
    let signing_key: [u8; 32] = hex::decode(row.try_get::<String>("", "value").unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    db.close().await.unwrap();
    let expired = viewer_token::sign(
        &signing_key,
        &ViewerGrant {
            token_id: uuid::Uuid::now_v7(),
            org_id,
            project_id: None,
            user_id: "u_alice".into(),
            org_role: Role::Owner,
            project_role: None,
            minted_by: key.id,
            expires: Utc::now().timestamp() - 3600,
        },
    );
    // A fresh page, as when a link is opened in a new tab.
    browser.client.goto("about:blank").await.unwrap();
    browser
        .client
        .goto(&format!("{}/#token={expired}", server.base_url()))
        .await
        .unwrap();
    browser
        .wait_for_text("#gate", "This link has expired. Ask the app for a new one.")
        .await;
    let stored = browser
        .js("return sessionStorage.getItem('auditViewer.token');", vec![])
        .await;
    assert_eq!(stored, Value::Null, "a refused token is forgotten");
    browser
        .screenshot(&screenshots_dir().join("viewer-expired.png"))
        .await;

    // No token at all.
    browser
        .client
        .goto(&format!("{}/", server.base_url()))
        .await
        .unwrap();
    browser.wait_for_text("#gate", "No viewer link").await;
}

async fn assert_no_viewer_errors(browser: &Browser, during: &str) {
    let errors = browser.viewer_errors().await;
    assert_eq!(errors, json!([]), "JavaScript errors during {during}");
}

/// `target/viewer-screenshots/`.
fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("viewer-screenshots")
}

/// Saves a screenshot to `target/viewer-screenshots/` and, with `AUDIT_UPDATE_SCREENSHOTS=1`,
/// to `audit-server/docs/` (the README shows those).
async fn save_screenshot(browser: &Browser, name: &str) {
    browser.screenshot(&screenshots_dir().join(name)).await;
    if std::env::var("AUDIT_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name);
        browser.screenshot(&docs).await;
    }
}
