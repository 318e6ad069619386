//! A real S3-compatible server on loopback for the S3 destination's tests: moto's standalone
//! server (PyPI `moto[server]`, pinned in `tests/api/s3/requirements.txt`), installed on first
//! use into a venv under `target/` and stopped when the handle drops.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// The credentials the tests sign with (moto accepts any).
pub const ACCESS_KEY: &str = "testing-key";
/// The secret half.
pub const SECRET_KEY: &str = "testing-secret";
/// The region requests are signed for.
pub const REGION: &str = "us-east-1";

/// Where moto lives: a venv made on first use (once per test process).
fn moto_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let venv = root.join("../target/s3-venv");
        let bin = venv.join("bin/moto_server");
        if !bin.exists() {
            let status = std::process::Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed for the S3 server (moto)");
            assert!(status.success(), "python3 -m venv failed");
            let status = std::process::Command::new(venv.join("bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(root.join("tests/api/s3/requirements.txt"))
                .status()
                .expect("pip");
            assert!(status.success(), "installing moto[server] failed");
        }
        bin
    })
    .clone()
}

/// A running moto server.
pub struct S3Server {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    _process: tokio::process::Child,
}

impl S3Server {
    /// Starts one on a free port and waits until it answers.
    pub async fn start() -> S3Server {
        let bin = moto_server_bin();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if reqwest::get(&url).await.is_ok() {
                return S3Server {
                    url,
                    _process: process,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not answer on {url}");
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(self.url.parse().unwrap(), UrlStyle::Path, name.to_owned(), REGION).unwrap()
    }

    fn credentials() -> Credentials {
        Credentials::new(ACCESS_KEY, SECRET_KEY)
    }

    /// Creates the bucket `name`.
    pub async fn create_bucket(&self, name: &str) {
        let bucket = self.bucket(name);
        let url = bucket
            .create_bucket(&Self::credentials())
            .sign(Duration::from_secs(60));
        let response = reqwest::Client::new()
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "create bucket: {}",
            response.status()
        );
    }

    /// Every key in the bucket, in key order.
    pub async fn keys(&self, name: &str) -> Vec<String> {
        let bucket = self.bucket(name);
        let credentials = Self::credentials();
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut list = bucket.list_objects_v2(Some(&credentials));
            if let Some(token) = &token {
                list.with_continuation_token(token.clone());
            }
            let url = list.sign(Duration::from_secs(60));
            let text = reqwest::get(url).await.unwrap().text().await.unwrap();
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&text).expect("a listing");
            keys.extend(page.contents.into_iter().map(|object| object.key));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        keys.sort();
        keys
    }

    /// The bytes of one object.
    pub async fn get(&self, name: &str, key: &str) -> Vec<u8> {
        let bucket = self.bucket(name);
        let credentials = Self::credentials();
        let url = bucket
            .get_object(Some(&credentials), key)
            .sign(Duration::from_secs(60));
        let response = reqwest::get(url).await.unwrap();
        assert!(response.status().is_success(), "GET {key}: {}", response.status());
        response.bytes().await.unwrap().to_vec()
    }
}
