//! Creating and removing named network namespaces with iproute2.

use std::io;
use std::process::Command;

pub fn add(name: &str) -> io::Result<()> {
    super::run("ip", &["netns", "add", name])
}

pub fn delete(name: &str) -> io::Result<()> {
    super::run("ip", &["netns", "del", name])
}

/// Removes labs whose creating process is gone (killed before its labs could drop).
pub fn sweep_abandoned(prefix: &str) -> io::Result<()> {
    let listing = Command::new("ip").args(["netns", "list"]).output()?;
    for name in String::from_utf8_lossy(&listing.stdout).lines().filter_map(|line| line.split_whitespace().next()) {
        if owner_pid(name, prefix).is_some_and(|pid| !process_alive(pid)) {
            let _ = delete(name);
            let _ = std::fs::remove_dir_all(std::path::Path::new("/etc/netns").join(name));
        }
    }
    Ok(())
}

/// The pid in a lab name `{prefix}-{s|t|h}-{pid}-{n}[-{host}]`.
fn owner_pid(name: &str, prefix: &str) -> Option<i32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let mut parts = rest.split('-');
    let side = parts.next()?;
    if !["s", "t", "h"].contains(&side) {
        return None;
    }
    parts.next()?.parse().ok()
}

fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence without sending anything.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names_carry_their_owner() {
        assert_eq!(owner_pid("pl-s-4242-0", "pl"), Some(4242));
        assert_eq!(owner_pid("pl-t-17-3", "pl"), Some(17));
        assert_eq!(owner_pid("pl-h-17-3-10", "pl"), Some(17));
        assert_eq!(owner_pid("pl-x-17-3", "pl"), None);
        assert_eq!(owner_pid("other-ns", "pl"), None);
    }
}
