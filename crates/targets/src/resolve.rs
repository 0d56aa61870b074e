use std::io;
use std::net::{IpAddr, ToSocketAddrs};

/// Forward name resolution, injected so that tests never touch a real resolver.
pub trait Resolve {
    /// Every address of `name`, in the resolver's order.
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>>;
}

/// The system resolver (getaddrinfo: /etc/hosts, then the configured DNS servers).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
        let mut addrs: Vec<IpAddr> = Vec::new();
        for sockaddr in (name, 0).to_socket_addrs()? {
            // getaddrinfo lists an address once per socket type; keep the first of each.
            if !addrs.contains(&sockaddr.ip()) {
                addrs.push(sockaddr.ip());
            }
        }
        Ok(addrs)
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use std::collections::HashMap;

    use super::*;

    /// A resolver that knows only the names a test gives it.
    #[derive(Default)]
    pub struct FakeResolver(pub HashMap<&'static str, Vec<IpAddr>>);

    impl FakeResolver {
        pub fn with(entries: &[(&'static str, &[&str])]) -> FakeResolver {
            FakeResolver(
                entries
                    .iter()
                    .map(|(name, addrs)| (*name, addrs.iter().map(|a| a.parse().unwrap()).collect()))
                    .collect(),
            )
        }
    }

    impl Resolve for FakeResolver {
        fn resolve(&self, name: &str) -> io::Result<Vec<IpAddr>> {
            self.0.get(name).cloned().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown name"))
        }
    }
}
