//! The syslog destination against Debian's `rsyslogd`, started by the test with `imtcp` on a
//! free loopback port and writing every message it parses into a file: every record arrives,
//! in order, as RFC 5424 with octet-counted framing, with the JSON or the CEF payload; over TLS
//! (RFC 5425, rsyslog's `gtls` driver, GnuTLS) with a private CA made by `rcgen`, and not before
//! the stream trusts the right CA.
//!
//! Skips with a message when `rsyslogd` (or, for TLS, its `gtls` driver) is not installed
//! (.ci/run installs both).

use std::path::Path;
use std::time::Duration;

use audit_server::testing::TestServer;
use serde_json::{Value, json};

use crate::helpers::{Tenant, get, patch, post, record_many, verify};
use crate::receiver::eventually;

/// The DNS name in the receiver's certificate (loopback has no such name: the stream sets
/// `serverName`).
const SERVER_NAME: &str = "syslog.test";

/// A private CA and the certificate it issued to the receiver, in PEM.
struct Certificates {
    ca: String,
    server: String,
    server_key: String,
}

impl Certificates {
    fn issue() -> Certificates {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "audit-log test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let server_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, SERVER_NAME);
        let server = params.signed_by(&server_key, &ca).unwrap();
        Certificates {
            ca: ca.pem(),
            server: server.pem(),
            server_key: server_key.serialize_pem(),
        }
    }
}

/// A running `rsyslogd -n` writing what it receives on `port` into `output`.
struct Rsyslog {
    port: u16,
    output: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _process: tokio::process::Child,
}

impl Rsyslog {
    /// Listens on plain TCP, or on TLS with `tls`'s server certificate.
    async fn start(tls: Option<&Certificates>) -> Option<Rsyslog> {
        let Ok(bin) = which("rsyslogd") else {
            eprintln!("SKIPPED: rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls)");
            return None;
        };
        if tls.is_some()
            && !Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so").exists()
            && !Path::new("/usr/lib/rsyslog/lmnsd_gtls.so").exists()
        {
            eprintln!("SKIPPED: rsyslog's gtls driver is not installed (apt-get install rsyslog-gnutls)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let output = dir.path().join("received.log");
        let (global_tls, module_tls) = match tls {
            None => (String::new(), String::new()),
            Some(certificates) => {
                let write = |name: &str, pem: &str| {
                    let path = dir.path().join(name);
                    std::fs::write(&path, pem).unwrap();
                    path.display().to_string()
                };
                (
                    format!(
                        r#" defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{}" defaultNetstreamDriverCertFile="{}" defaultNetstreamDriverKeyFile="{}""#,
                        write("ca.pem", &certificates.ca),
                        write("server.pem", &certificates.server),
                        write("server-key.pem", &certificates.server_key),
                    ),
                    r#" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon""#
                        .to_owned(),
                )
            }
        };
        let config = format!(
            r#"global(workDirectory="{work}"{global_tls})
module(load="imtcp"{module_tls})
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="raw" type="string" string="%rawmsg%\n")
*.* action(type="omfile" file="{out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
"#,
            work = dir.path().display(),
            out = output.display(),
        );
        let config_path = dir.path().join("rsyslog.conf");
        std::fs::write(&config_path, config).unwrap();
        let process = tokio::process::Command::new(bin)
            .arg("-n")
            .arg("-f")
            .arg(&config_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .kill_on_drop(true)
            .spawn()
            .expect("rsyslogd starts");
        eventually(30, "rsyslogd listening", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
        Some(Rsyslog {
            port,
            output,
            _dir: dir,
            _process: process,
        })
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.output)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return Ok(path);
        }
    }
    Err(())
}

/// The `seq` in the structured data of a received message.
fn sd_seq(line: &str) -> i64 {
    let start = line.find("seq=\"").expect("structured data with seq") + 5;
    let end = start + line[start..].find('"').unwrap();
    line[start..end].parse().unwrap()
}

/// Waits until rsyslog has `expected.len()` messages after `start`, then checks they are
/// exactly `expected`, in order.
async fn assert_receives(rsyslog: &Rsyslog, start: i64, expected: &[i64]) {
    let received = || -> Vec<i64> {
        rsyslog
            .lines()
            .iter()
            .map(|line| sd_seq(line))
            .filter(|seq| *seq > start)
            .collect()
    };
    eventually(60, "every record in rsyslog's file", || async {
        received().len() >= expected.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(received(), expected, "every record once, in order");
}

/// A TLS syslog destination for `rsyslog` trusting `ca`.
fn tls_destination(rsyslog: &Rsyslog, ca: &str) -> Value {
    json!({"type": "syslog", "host": "127.0.0.1", "port": rsyslog.port,
           "tls": {"caCertificate": ca, "serverName": SERVER_NAME}})
}

async fn rsyslog_receives_every_record_in_order(server: TestServer) {
    let Some(rsyslog) = Rsyslog::start(None).await else {
        return;
    };
    let acme = Tenant::new(&server, "Acme").await;
    let mut start = 0;
    for (name, payload) in [("syslog json", "json"), ("syslog cef", "cef")] {
        let body = json!({
            "name": name,
            "destination": {"type": "syslog", "host": "127.0.0.1", "port": rsyslog.port, "payload": payload,
                            "appName": "audit"}
        });
        let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .ok(201)
            .clone();
        start = stream["deliveredSeq"].as_i64().unwrap();
    }
    record_many(&server, acme.secret(), 2000).await;
    let head = verify(&server, acme.secret()).await["headSeq"].as_i64().unwrap();
    let expected: Vec<i64> = (start + 1..=head).collect();
    let org = acme.org.id.to_string();

    eventually(60, "every record in rsyslog's file, twice", || async {
        rsyslog.lines().len() >= 2 * expected.len()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = rsyslog.lines();
    let (cef, json): (Vec<&String>, Vec<&String>) = lines.iter().partition(|line| line.contains("CEF:0|"));
    let json_seqs: Vec<i64> = json
        .iter()
        .map(|line| sd_seq(line))
        .filter(|seq| *seq > start)
        .collect();
    let cef_seqs: Vec<i64> = cef
        .iter()
        .map(|line| sd_seq(line))
        .filter(|seq| *seq > start)
        .collect();
    assert_eq!(json_seqs, expected, "every record once, in order (JSON payload)");
    assert_eq!(cef_seqs, expected, "every record once, in order (CEF payload)");
    for line in json.iter().filter(|line| sd_seq(line) > start) {
        let event: Value =
            serde_json::from_str(&line[line.find("\"] ").unwrap() + 3..]).expect("JSON payload");
        let message_id = format!(
            "{}.{}",
            event["resourceType"].as_str().unwrap(),
            event["action"].as_str().unwrap()
        );
        assert!(line.starts_with("<110>1 "), "RFC 5424 header: {line}");
        assert!(
            line.contains(&format!(" audit - {message_id} [audit@32473 org=\"")),
            "{line}"
        );
        assert!(line.contains(&format!("org=\"{org}\"")));
        assert_eq!(event["seq"], sd_seq(line));
        assert!(line.contains(&format!("hash=\"{}\"", event["hash"].as_str().unwrap())));
    }
    // The first record after both streams exist is one of `record_many`'s prompt updates.
    let first_cef = cef
        .iter()
        .find(|line| sd_seq(line) > start && line.contains("|prompt.update|"))
        .unwrap();
    let cef_line = &first_cef[first_cef.find("CEF:0|").unwrap()..];
    assert!(cef_line.starts_with("CEF:0|audit-log|audit-log|"), "{cef_line}");
    assert!(cef_line.contains("|prompt.update|prompt.update|3|"), "{cef_line}");
    assert!(
        cef_line.contains(&format!("externalId={}", sd_seq(first_cef))),
        "{cef_line}"
    );
}

async fn rsyslog_receives_every_record_over_tls_in_order(server: TestServer) {
    let certificates = Certificates::issue();
    let Some(rsyslog) = Rsyslog::start(Some(&certificates)).await else {
        return;
    };
    let acme = Tenant::new(&server, "Acme").await;
    let body = json!({"name": "syslog tls", "destination": tls_destination(&rsyslog, &certificates.ca)});
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    assert_eq!(stream["destination"]["tls"]["serverName"], SERVER_NAME);
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 1500).await;
    let head = verify(&server, acme.secret()).await["headSeq"].as_i64().unwrap();
    let expected: Vec<i64> = (start + 1..=head).collect();
    assert_receives(&rsyslog, start, &expected).await;
    let first = rsyslog
        .lines()
        .into_iter()
        .find(|line| sd_seq(line) > start)
        .unwrap();
    assert!(first.starts_with("<110>1 "), "RFC 5424 through TLS: {first}");
}

async fn wrong_ca_fails_the_handshake_and_nothing_is_lost(server: TestServer) {
    let certificates = Certificates::issue();
    let Some(rsyslog) = Rsyslog::start(Some(&certificates)).await else {
        return;
    };
    let another_ca = Certificates::issue().ca;
    let acme = Tenant::new(&server, "Acme").await;
    let body = json!({"name": "syslog tls", "destination": tls_destination(&rsyslog, &another_ca)});
    let stream = post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .ok(201)
        .clone();
    let path = format!("/api/v1/streams/{}", stream["id"].as_str().unwrap());
    let start = stream["deliveredSeq"].as_i64().unwrap();
    record_many(&server, acme.secret(), 200).await;

    eventually(30, "the stream shown unhealthy", || async {
        get(&server, &path, acme.secret()).await.body["health"]["status"] == "unhealthy"
    })
    .await;
    let unhealthy = get(&server, &path, acme.secret()).await.ok(200).clone();
    let error = unhealthy["health"]["lastError"].as_str().unwrap();
    assert!(
        error.contains("TLS handshake") && error.contains("certificate"),
        "{error}"
    );
    assert_eq!(
        unhealthy["deliveredSeq"], start,
        "nothing acknowledged, nothing skipped"
    );
    assert!(
        rsyslog.lines().is_empty(),
        "nothing went through the failed handshake"
    );

    let fixed = json!({"destination": tls_destination(&rsyslog, &certificates.ca)});
    patch(&server, &path, acme.secret(), &fixed).await.ok(200);
    let head = verify(&server, acme.secret()).await["headSeq"].as_i64().unwrap();
    let expected: Vec<i64> = (start + 1..=head).collect();
    assert_receives(&rsyslog, start, &expected).await;
    eventually(30, "the stream healthy again", || async {
        get(&server, &path, acme.secret()).await.body["health"]["status"] == "healthy"
    })
    .await;
}

async fn syslog_settings_are_checked_by_field(server: TestServer) {
    let acme = Tenant::new(&server, "Acme").await;
    let cases = [
        (
            json!({"type": "syslog", "host": "bad host", "port": 514}),
            "destination.host",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 0}),
            "destination.port",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 514, "appName": ""}),
            "destination.appName",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 6514,
                   "tls": {"caCertificate": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"}}),
            "destination.tls.caCertificate",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 6514,
                   "tls": {"caCertificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}),
            "destination.tls.caCertificate",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 6514, "tls": {"caCertificate": "no PEM here"}}),
            "destination.tls.caCertificate",
        ),
        (
            json!({"type": "syslog", "host": "127.0.0.1", "port": 6514, "tls": {"serverName": "bad name"}}),
            "destination.tls.serverName",
        ),
    ];
    for (destination, field) in cases {
        let body = json!({"name": "syslog", "destination": destination});
        post(&server, "/api/v1/streams", acme.secret(), &body)
            .await
            .problem(422, Some(field));
    }
    let body = json!({"name": "syslog", "destination": {"type": "syslog", "host": "127.0.0.1", "port": 514},
                      "secret": "not-needed"});
    post(&server, "/api/v1/streams", acme.secret(), &body)
        .await
        .problem(422, Some("secret"));
}

crate::on_both_backends!(
    rsyslog_receives_every_record_in_order,
    rsyslog_receives_every_record_over_tls_in_order,
    wrong_ca_fails_the_handshake_and_nothing_is_lost,
    syslog_settings_are_checked_by_field,
);
