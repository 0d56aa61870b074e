//! `--spoof-mac`: the hardware address raw probes leave with, as Nmap reads the option: `0`
//! for a random one, a prefix of hex digits completed at random, a whole address, or a
//! vendor's name, whose prefix the vendors table gives.

use rand::Rng;
use services::{DataDirs, MacVendors};

use crate::args::{ScanOptions, TcpScan};
use crate::error::RunError;

/// Draws the spoofed address, if one is asked for, into the options' source, and sends by
/// Ethernet frames, the only way it can be used (as Nmap's `--spoof-mac` implies
/// `--send-eth`); refused with the connect scan or `--send-ip`.
pub(crate) fn apply(options: &mut ScanOptions, tcp: Option<TcpScan>) -> Result<(), RunError> {
    let Some(text) = options.spoof_mac.clone() else { return Ok(()) };
    if tcp == Some(TcpScan::Connect) {
        return Err(RunError::Usage("--spoof-mac changes raw frames: use -sS, not -sT".into()));
    }
    if options.source.via == engine::SendVia::Ip {
        return Err(RunError::Usage("--spoof-mac sends Ethernet frames: it cannot go with --send-ip".into()));
    }
    let vendors = MacVendors::load(&DataDirs::from_env(options.datadir.clone()));
    let mac = spoofed(&text, &vendors, &mut rand::rng()).ok_or_else(|| {
        RunError::Usage(format!(
            "invalid value '{text}' for --spoof-mac: 0, a MAC address or prefix, or a vendor's name"
        ))
    })?;
    options.source.mac = Some(mac);
    options.source.via = engine::SendVia::Ethernet;
    Ok(())
}

/// The address `text` asks for, random bytes completing a prefix.
fn spoofed(text: &str, vendors: &MacVendors, rng: &mut impl Rng) -> Option<[u8; 6]> {
    let mut mac: [u8; 6] = rng.random();
    mac[0] &= !1; // a sender's address is never a group (multicast) address
    if text == "0" {
        return Some(mac);
    }
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    let prefix: Vec<u8> =
        if digits.len() <= 12 && digits.len().is_multiple_of(2) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..digits.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).ok())
                .collect::<Option<_>>()?
        } else {
            vendors.prefix_of(text)?.to_vec()
        };
    mac[..prefix.len()].copy_from_slice(&prefix);
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_prefixes_whole_addresses_and_vendor_names_give_an_address() {
        let vendors = MacVendors::embedded();
        let mut rng = rand::rng();
        assert!(spoofed("0", &vendors, &mut rng).is_some());
        assert_eq!(spoofed("00:50:56", &vendors, &mut rng).unwrap()[..3], [0x00, 0x50, 0x56]);
        assert_eq!(spoofed("02:11:22:33:44:55", &vendors, &mut rng), Some([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(spoofed("021122334455", &vendors, &mut rng), Some([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(spoofed("VirtualBox", &vendors, &mut rng).unwrap()[..3], [0x08, 0x00, 0x27]);
        assert_eq!(spoofed("No Such Maker", &vendors, &mut rng), None);
        assert_eq!(spoofed("00:50:5", &vendors, &mut rng), None, "half a byte");
    }
}
