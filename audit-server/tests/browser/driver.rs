//! A headless Chromium driven through chromedriver, and waits that poll instead of sleeping.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long any wait lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// The line printed when the browser is not installed.
pub const SKIP_LINE: &str = "SKIPPED: browser test (install chromium and chromium-driver)";

/// `chromedriver` on PATH, if any.
pub fn chromedriver_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|candidate| candidate.is_file())
}

/// The Chromium binary: Debian's, else whatever chromedriver finds itself.
fn chromium_binary() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| Path::new(path).exists())
}

/// A chromedriver child process and one browser session; both end on drop.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    /// Chromium's profile and download folder.
    pub dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session.
    pub async fn start(chromedriver: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let dir = tempfile::tempdir().expect("temporary directory");
        let profile = dir.path().join("profile");
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("download folder");

        let mut options = json!({
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--window-size=1400,900",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        });
        if let Some(binary) = chromium_binary() {
            options["binary"] = json!(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);

        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(_) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = driver.try_wait() {
                        panic!("chromedriver exited with {status}");
                    }
                    // chromedriver is still starting; poll again shortly.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => {
                    let _ = driver.kill();
                    panic!("no WebDriver session at {url}: {error}");
                }
            }
        };
        Browser { client, driver, dir }
    }

    /// Where Chromium saves downloads.
    pub fn downloads(&self) -> PathBuf {
        self.dir.path().join("downloads")
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Polls `script` until it returns `true`, failing with `what` and the page state after
    /// [`WAIT`].
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.js(script, vec![]).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let state = self.js(PAGE_STATE, vec![]).await;
                panic!("timed out waiting for {what}; page: {state:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the element at `css` to exist.
    pub async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("no element {css}: {error}"))
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) {
        self.element(css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("click {css}: {error}"));
    }

    /// Text of the element at `css` (as rendered).
    pub async fn text(&self, css: &str) -> String {
        self.element(css)
            .await
            .text()
            .await
            .unwrap_or_else(|error| panic!("text of {css}: {error}"))
    }

    /// Waits for the element at `css` to show text containing `needle`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && !e.closest('[hidden]') && e.innerText.includes({});",
            json!(css),
            json!(needle)
        );
        self.wait_until(&format!("{css} to show {needle:?}"), &script)
            .await;
    }

    /// Saves a PNG screenshot of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The errors the viewer collected (`window.__viewerErrors`).
    pub async fn viewer_errors(&self) -> Value {
        self.js("return window.__viewerErrors || null;", vec![]).await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also on a failed assertion: never leave chromedriver (and its Chromium) running.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// What a failed wait prints: where the page is and what it shows.
const PAGE_STATE: &str = r#"
const q = (css) => document.querySelector(css);
return {
  url: location.href,
  status: q('#status') && q('#status').textContent,
  error: q('#error') && !q('#error').hidden ? q('#error').textContent : null,
  gate: q('#gate') && !q('#gate').hidden ? q('#gate').innerText : null,
  rows: document.querySelectorAll('#rows tr[data-id]').length,
  errors: window.__viewerErrors || null,
};
"#;
