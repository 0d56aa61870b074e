//! The C library's resolver, for `--system-dns`: it follows nsswitch.conf (files, DNS, mDNS,
//! …) as every other program on the host does, one blocking lookup at a time.

use std::net::{IpAddr, SocketAddr};

/// The name the system gives `addr`, if any (NI_NAMEREQD: no numeric fallback).
pub fn system_reverse_name(addr: IpAddr) -> Option<String> {
    let socket = socket2::SockAddr::from(SocketAddr::new(addr, 0));
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    // SAFETY: `socket` holds a valid sockaddr of the length passed; `host` is a writable buffer
    // of the length passed, which getnameinfo NUL-terminates on success; the service buffer is
    // null with length 0, which getnameinfo allows.
    let status = unsafe {
        libc::getnameinfo(
            socket.as_ptr().cast(),
            socket.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if status != 0 {
        return None;
    }
    // SAFETY: on success `host` holds a NUL-terminated string within its bounds.
    let name = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_named_as_the_hosts_file_says() {
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let listed = hosts.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some("127.0.0.1")).then(|| fields.next()).flatten()
        });
        assert_eq!(system_reverse_name("127.0.0.1".parse().unwrap()).as_deref(), listed);
    }
}
