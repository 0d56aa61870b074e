//! Whether raw-packet scans are permitted, read from the kernel's capability set for this process.

/// CAP_NET_RAW's bit in the capability masks (linux/capability.h).
const CAP_NET_RAW: u32 = 13;

/// True when this process may open raw sockets (root, or a binary given CAP_NET_RAW).
pub fn has_cap_net_raw() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_caps(&status))
        .is_some_and(|caps| caps & (1 << CAP_NET_RAW) != 0)
}

fn effective_caps(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|line| line.strip_prefix("CapEff:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_effective_capability_mask() {
        let status = "Name:\tportolan\nCapInh:\t0000000000000000\nCapEff:\t0000000000002000\n";
        assert_eq!(effective_caps(status), Some(1 << CAP_NET_RAW));
        assert_eq!(effective_caps("Name:\tx\n"), None);
        assert_eq!(effective_caps("CapEff:\tzz\n"), None);
    }
}
