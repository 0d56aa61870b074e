//! TLS for version detection: a handshake with whatever the server presents (we probe, we do not
//! trust), what it negotiated and the certificate it sent, and the tunnel the probes then go
//! through ("ssl/http").
//!
//! rustls speaks TLS 1.2 and 1.3 only: a server that offers nothing newer than TLS 1.1 is named
//! "ssl" from its answer in the clear, and not probed inside.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use model::TlsDetail;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts any certificate, checking only that the handshake's signatures are sound: version
/// detection must see self-signed and expired certificates too.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, signature, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, signature, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What the first handshake offers: HTTP/2 and HTTP/1.1 by ALPN, to learn what the server
/// chooses. Probes go without ALPN, so a server never switches them to HTTP/2.
fn config(alpn: bool) -> Arc<ClientConfig> {
    static WITH_ALPN: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static WITHOUT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let cell = if alpn { &WITH_ALPN } else { &WITHOUT };
    cell.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyCertificate { algorithms: provider.signature_verification_algorithms });
        let mut config = ClientConfig::builder_with_provider(provider as Arc<CryptoProvider>)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        if alpn {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        Arc::new(config)
    })
    .clone()
}

/// Opens TLS over `stream` to `addr`, offering ALPN or not.
pub async fn handshake(stream: TcpStream, addr: SocketAddr, alpn: bool) -> io::Result<TlsStream<TcpStream>> {
    let name = ServerName::IpAddress(addr.ip().into());
    TlsConnector::from(config(alpn)).connect(name, stream).await
}

/// What a session negotiated, and its server's certificate.
pub fn describe(stream: &TlsStream<TcpStream>) -> TlsDetail {
    let (_, session) = stream.get_ref();
    let mut detail = TlsDetail {
        protocol: session
            .protocol_version()
            .and_then(|version| version.as_str())
            .unwrap_or("unknown")
            .replace('_', "."),
        cipher: session.negotiated_cipher_suite().and_then(|suite| suite.suite().as_str()).unwrap_or("unknown").into(),
        alpn: session.alpn_protocol().map(|protocol| String::from_utf8_lossy(protocol).into_owned()),
        ..TlsDetail::default()
    };
    if let Some(certificate) = session.peer_certificates().and_then(|chain| chain.first()) {
        describe_certificate(certificate, &mut detail);
    }
    detail
}

/// Subject, names, issuer, validity and key of a DER certificate; what cannot be read stays empty.
fn describe_certificate(der: &[u8], detail: &mut TlsDetail) {
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(der) else { return };
    detail.subject = printable(&certificate.subject().to_string());
    detail.issuer = printable(&certificate.issuer().to_string());
    detail.not_before = certificate.validity().not_before.to_datetime().unix_timestamp();
    detail.not_after = certificate.validity().not_after.to_datetime().unix_timestamp();
    if let Ok(Some(names)) = certificate.subject_alternative_name() {
        detail.names = names.value.general_names.iter().filter_map(alternative_name).collect();
    }
    let key = certificate.public_key();
    if let Ok(parsed) = key.parsed() {
        use x509_parser::public_key::PublicKey;
        detail.key_type = match parsed {
            PublicKey::RSA(_) => "rsa",
            PublicKey::EC(_) => "ec",
            PublicKey::DSA(_) => "dsa",
            _ => "other",
        }
        .into();
        detail.key_bits = u32::try_from(parsed.key_size()).unwrap_or(0);
    }
}

/// A subject alternative name as OpenSSL and Nmap print it: "DNS:www.lab", "IP Address:…".
fn alternative_name(name: &x509_parser::extensions::GeneralName<'_>) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    let text = match name {
        GeneralName::DNSName(dns) => format!("DNS:{dns}"),
        GeneralName::RFC822Name(mail) => format!("email:{mail}"),
        GeneralName::URI(uri) => format!("URI:{uri}"),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => format!("IP Address:{}", std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).ok()?)),
            16 => format!("IP Address:{}", std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).ok()?)),
            _ => return None,
        },
        _ => return None,
    };
    Some(printable(&text))
}

/// A certificate's text without control characters: the server chose it, and it ends up in
/// terminals and XML.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}
