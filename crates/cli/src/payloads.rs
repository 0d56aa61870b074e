//! The payloads UDP probes carry, scan and ping alike, and the data the user gives every other
//! raw probe.

use std::sync::Arc;

use probes::UdpPayloads;
use services::DataDirs;

use crate::args::{Payload, ScanOptions};
use crate::error::RunError;

/// The UDP payloads: the user's one payload for all ports, else portolan's table, with
/// nmap-payloads (when installed) for the ports it lacks. Also says where they came from.
pub(crate) fn udp_payloads(options: &ScanOptions) -> Result<(UdpPayloads, String), RunError> {
    match &options.payload {
        Some(Payload::Bytes(bytes)) => Ok((UdpPayloads::same_for_all(bytes.clone()), "--data".into())),
        Some(Payload::Random(length)) => Ok((UdpPayloads::same_for_all(random_bytes(*length)), "--data-length".into())),
        None => {
            let ours = UdpPayloads::embedded();
            let Some(path) = DataDirs::from_env(options.datadir.clone()).find("nmap-payloads") else {
                return Ok((ours, "portolan's embedded table".into()));
            };
            let failed = |error: String| RunError::Failed(format!("{}: {error}", path.display()));
            let text = std::fs::read(&path).map_err(|e| failed(e.to_string()))?;
            let nmaps = UdpPayloads::parse(&String::from_utf8_lossy(&text)).map_err(|e| failed(e.to_string()))?;
            Ok((ours.or(nmaps), format!("portolan's embedded table, then {}", path.display())))
        }
    }
}

/// `--data`, `--data-string` or `--data-length`: what TCP and ICMP probes carry after their
/// header.
pub(crate) fn probe_data(options: &ScanOptions) -> Option<Arc<[u8]>> {
    match options.payload.as_ref()? {
        Payload::Bytes(bytes) => Some(bytes.as_slice().into()),
        Payload::Random(length) => Some(random_bytes(*length).into()),
    }
}

fn random_bytes(length: usize) -> Vec<u8> {
    (0..length).map(|_| rand::random::<u8>()).collect()
}
