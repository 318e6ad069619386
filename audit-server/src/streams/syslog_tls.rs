//! TLS for the syslog destination (RFC 5425): the rustls client configuration a connection is
//! wrapped in, with the aws-lc-rs provider reqwest uses.
//!
//! Invariants: a `caCertificate` replaces the platform's roots (the receiver must chain to that
//! CA and nothing else); without one the platform verifier checks the certificate as HTTPS
//! destinations are checked; the name checked is `serverName`, or the destination's host.

use std::sync::Arc;

use audit_core::SyslogTls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use rustls_platform_verifier::BuilderVerifierExt;
use tokio_rustls::TlsConnector;

/// The longest `caCertificate` accepted.
pub const MAX_CA_CHARS: usize = 65_536;

/// The trust anchors of a PEM text of one or more CA certificates; the error says what is wrong.
pub fn trust_anchors(pem: &str) -> Result<RootCertStore, String> {
    if pem.chars().count() > MAX_CA_CHARS {
        return Err(format!("must be at most {MAX_CA_CHARS} characters"));
    }
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|error| format!("must be PEM certificates ({error})"))?;
    if certificates.is_empty() {
        return Err("must hold at least one PEM `CERTIFICATE` block".to_owned());
    }
    let mut roots = RootCertStore::empty();
    for (index, certificate) in certificates.into_iter().enumerate() {
        roots.add(certificate).map_err(|error| {
            format!(
                "certificate {} is not a usable CA certificate ({error})",
                index + 1
            )
        })?;
    }
    Ok(roots)
}

/// The name the receiver's certificate is checked against: `serverName`, or `host`.
pub fn server_name(tls: &SyslogTls, host: &str) -> Result<ServerName<'static>, String> {
    let name = tls
        .server_name
        .as_deref()
        .unwrap_or_else(|| host.trim_matches(['[', ']']));
    ServerName::try_from(name.to_owned()).map_err(|_| "must be a DNS name or IP address".to_owned())
}

/// The connector for `tls`.
pub fn connector(tls: &SyslogTls) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?;
    let config = match &tls.ca_certificate {
        Some(pem) => builder.with_root_certificates(trust_anchors(pem)?),
        None => builder
            .with_platform_verifier()
            .map_err(|error| format!("the platform's roots: {error}"))?,
    }
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_refused_with_a_reason() {
        assert!(
            trust_anchors("not a certificate")
                .unwrap_err()
                .contains("at least one")
        );
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(trust_anchors(broken).unwrap_err().contains("certificate 1"));
        let tls = SyslogTls::default();
        assert!(server_name(&tls, "syslog.example.com").is_ok());
        assert!(server_name(&tls, "[::1]").is_ok());
        let bad = SyslogTls {
            server_name: Some("bad name".to_owned()),
            ..SyslogTls::default()
        };
        assert!(server_name(&bad, "127.0.0.1").is_err());
    }
}
