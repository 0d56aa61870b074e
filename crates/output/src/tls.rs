//! A TLS session and its certificate as the outputs show them under a port: a few lines, each a
//! label and its value, in the order an administrator checks a certificate.

use model::TlsDetail;

/// (label, value) pairs; empty values are left out.
pub(crate) fn tls_lines(tls: &TlsDetail) -> Vec<(&'static str, String)> {
    let session = match &tls.alpn {
        Some(alpn) => format!("{}, {}, ALPN {alpn}", tls.protocol, tls.cipher),
        None => format!("{}, {}", tls.protocol, tls.cipher),
    };
    let key = (!tls.key_type.is_empty()).then(|| format!("{} {} bits", tls.key_type, tls.key_bits));
    let lines = [
        ("Session", Some(session)),
        ("Subject", Some(tls.subject.clone())),
        ("Subject Alternative Name", Some(tls.names.join(", "))),
        ("Issuer", Some(tls.issuer.clone())),
        ("Public Key", key),
        ("Not valid before", timestamp(tls.not_before)),
        ("Not valid after", timestamp(tls.not_after)),
    ];
    lines.into_iter().filter_map(|(label, value)| Some((label, value.filter(|value| !value.is_empty())?))).collect()
}

/// Seconds since the epoch as "2026-12-03T09:00:00" (UTC), the form Nmap's ssl-cert prints.
fn timestamp(seconds: i64) -> Option<String> {
    let time = jiff::Timestamp::from_second(seconds).ok()?;
    Some(time.strftime("%Y-%m-%dT%H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_and_its_certificate_read_in_order_without_empty_lines() {
        let tls = TlsDetail {
            protocol: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: Some("h2".into()),
            subject: "CN=www.lab".into(),
            issuer: "CN=www.lab".into(),
            names: vec![],
            not_before: 1_796_288_400,
            not_after: 1_827_824_400,
            key_type: "ec".into(),
            key_bits: 256,
        };
        let lines: Vec<String> =
            tls_lines(&tls).into_iter().map(|(label, value)| format!("{label}: {value}")).collect();
        assert_eq!(
            lines,
            [
                "Session: TLSv1.3, TLS13_AES_256_GCM_SHA384, ALPN h2",
                "Subject: CN=www.lab",
                "Issuer: CN=www.lab",
                "Public Key: ec 256 bits",
                "Not valid before: 2026-12-03T09:00:00",
                "Not valid after: 2027-12-03T09:00:00",
            ]
        );
    }
}
