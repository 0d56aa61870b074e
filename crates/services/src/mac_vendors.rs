//! Who made a network card, from the prefix of its hardware address: for Nmap's "MAC Address:
//! 00:50:56:C0:00:08 (VMware)" and for `--spoof-mac <vendor>`.
//!
//! Nmap's `nmap-mac-prefixes` (the IEEE registry's assignments) is loaded when installed; our
//! own short list, of the virtual machines and boards a lab or an administrator meets most,
//! stands in otherwise.

/// Prefixes (as hex digits) and vendors we know without Nmap's file: IEEE assignments to
/// virtualisation vendors and single-board computers, and QEMU's locally administered
/// default.
const EMBEDDED: &[(&str, &str)] = &[
    ("000569", "VMware"),
    ("000C29", "VMware"),
    ("001C14", "VMware"),
    ("005056", "VMware"),
    ("080027", "Oracle VirtualBox virtual NIC"),
    ("525400", "QEMU virtual NIC"),
    ("00155D", "Microsoft Hyper-V"),
    ("00163E", "Xensource"),
    ("001C42", "Parallels"),
    ("B827EB", "Raspberry Pi Foundation"),
    ("DCA632", "Raspberry Pi Trading"),
    ("00000C", "Cisco Systems"),
];

/// A table of hardware address prefixes and their vendors.
#[derive(Debug, Clone, Default)]
pub struct MacVendors {
    /// (prefix as a number, its length in hex digits, vendor), longest prefixes first.
    entries: Vec<(u64, u8, String)>,
}

impl MacVendors {
    /// Our own short list.
    pub fn embedded() -> MacVendors {
        MacVendors::from_entries(EMBEDDED.iter().filter_map(|&(prefix, vendor)| entry(prefix, vendor)))
    }

    /// Nmap's `nmap-mac-prefixes` from the first data directory holding it, else our list.
    pub fn load(dirs: &crate::DataDirs) -> MacVendors {
        dirs.find("nmap-mac-prefixes")
            .and_then(|path| std::fs::read_to_string(&path).ok())
            .map_or_else(MacVendors::embedded, |text| MacVendors::parse(&text))
    }

    /// Reads `nmap-mac-prefixes`: "PREFIX Vendor name" per line (the prefix in 6 to 12 hex
    /// digits), `#` comments; lines of any other shape are skipped.
    pub fn parse(text: &str) -> MacVendors {
        let lines = text.lines().filter(|line| !line.starts_with('#'));
        MacVendors::from_entries(lines.filter_map(|line| {
            let (prefix, vendor) = line.split_once(char::is_whitespace)?;
            entry(prefix, vendor.trim())
        }))
    }

    fn from_entries(entries: impl Iterator<Item = (u64, u8, String)>) -> MacVendors {
        let mut entries: Vec<_> = entries.collect();
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.1));
        MacVendors { entries }
    }

    /// The vendor of `mac`, by its longest known prefix.
    pub fn vendor(&self, mac: [u8; 6]) -> Option<&str> {
        let whole = mac.iter().fold(0u64, |value, &byte| value << 8 | u64::from(byte));
        let matches = |&&(prefix, digits, _): &&(u64, u8, String)| whole >> (4 * (12 - u32::from(digits))) == prefix;
        self.entries.iter().find(matches).map(|(_, _, vendor)| vendor.as_str())
    }

    /// The first three bytes of a vendor's address whose name contains `name` (any case).
    pub fn prefix_of(&self, name: &str) -> Option<[u8; 3]> {
        let name = name.to_lowercase();
        let (prefix, _, _) =
            self.entries.iter().find(|(_, digits, vendor)| *digits == 6 && vendor.to_lowercase().contains(&name))?;
        let bytes = prefix.to_be_bytes();
        Some([bytes[5], bytes[6], bytes[7]])
    }
}

/// A prefix of 6 to 12 hex digits and its vendor.
fn entry(prefix: &str, vendor: &str) -> Option<(u64, u8, String)> {
    let digits = u8::try_from(prefix.len()).ok().filter(|digits| (6..=12).contains(digits))?;
    let value = u64::from_str_radix(prefix, 16).ok()?;
    (!vendor.is_empty()).then(|| (value, digits, vendor.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_names_the_vendor() {
        let table = MacVendors::parse(
            "# comment\n005056 VMware\n0050C2 IEEE Registration Authority\n0050C2123 Small Maker\nzz bad\n",
        );
        assert_eq!(table.vendor([0x00, 0x50, 0x56, 0xc0, 0, 8]), Some("VMware"));
        assert_eq!(table.vendor([0x00, 0x50, 0xc2, 0x12, 0x34, 0x56]), Some("Small Maker"));
        assert_eq!(table.vendor([0x00, 0x50, 0xc2, 0x99, 0, 0]), Some("IEEE Registration Authority"));
        assert_eq!(table.vendor([0x02, 0, 0, 0, 0, 1]), None);
    }

    #[test]
    fn a_vendor_name_gives_its_prefix_whatever_the_case() {
        let table = MacVendors::embedded();
        assert_eq!(table.prefix_of("vmware"), Some([0x00, 0x05, 0x69]));
        assert_eq!(table.prefix_of("virtualbox"), Some([0x08, 0x00, 0x27]));
        assert_eq!(table.prefix_of("no such maker"), None);
        assert_eq!(table.vendor([0x52, 0x54, 0x00, 1, 2, 3]), Some("QEMU virtual NIC"));
    }
}
