//! Reverse DNS for the hosts of a scan, as Nmap's parallel resolver does: PTR lookups for many
//! addresses at once, asking the system's name servers (resolv.conf) or `--dns-servers`; or
//! the C library's resolver, one address at a time, with `--system-dns`.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use model::{HostResult, HostStatus};

use crate::args::{ReverseDns, ScanOptions};

/// Lookups in flight at once.
const PARALLEL_LOOKUPS: usize = 256;
/// How long one name server gets to answer, and how many times it is asked.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);
const LOOKUP_ATTEMPTS: usize = 2;

pub struct NameFinder {
    which: ReverseDns,
    /// `None`: the C library's resolver (`--system-dns`).
    resolver: Option<TokioResolver>,
}

impl NameFinder {
    /// The finder the options ask for; `None` with `-n`, or when the system's name servers
    /// cannot be read (with a warning).
    pub fn new(options: &ScanOptions) -> Option<NameFinder> {
        if options.reverse_dns == ReverseDns::Never {
            return None;
        }
        let resolver = if options.system_dns {
            None
        } else {
            let provider = TokioConnectionProvider::default();
            let mut builder = if options.dns_servers.is_empty() {
                match TokioResolver::builder_tokio() {
                    Ok(builder) => builder,
                    // Names are a courtesy: the scan goes on without them, as Nmap's does.
                    Err(error) => {
                        eprintln!("WARNING: no reverse DNS: cannot read the system's name servers ({error})");
                        return None;
                    }
                }
            } else {
                let servers = NameServerConfigGroup::from_ips_clear(&options.dns_servers, 53, true);
                TokioResolver::builder_with_config(ResolverConfig::from_parts(None, Vec::new(), servers), provider)
            };
            let opts = builder.options_mut();
            opts.timeout = LOOKUP_TIMEOUT;
            opts.attempts = LOOKUP_ATTEMPTS;
            opts.use_hosts_file = ResolveHosts::Always;
            Some(builder.build())
        };
        Some(NameFinder { which: options.reverse_dns, resolver })
    }

    /// How many of `hosts` will be looked up.
    pub fn count(&self, hosts: &[HostResult]) -> usize {
        hosts.iter().filter(|host| self.wants(host)).count()
    }

    fn wants(&self, host: &HostResult) -> bool {
        let listed = host.status == HostStatus::Listed;
        host.target.name.is_none() && (self.which == ReverseDns::Always || host.is_up() || listed)
    }

    /// Gives each host that should have one its reverse name, all lookups at once.
    pub async fn name_all(&self, hosts: &mut [HostResult]) {
        let lookups = hosts.iter_mut().filter(|host| self.wants(host)).map(|host| async move {
            host.target.reverse_name = self.reverse_name(host.target.addr).await;
        });
        stream::iter(lookups).buffer_unordered(PARALLEL_LOOKUPS).collect::<()>().await;
    }

    async fn reverse_name(&self, addr: std::net::IpAddr) -> Option<String> {
        match &self.resolver {
            Some(resolver) => {
                let names = resolver.reverse_lookup(addr).await.ok()?;
                let name = names.iter().next()?.to_utf8();
                Some(name.trim_end_matches('.').to_string())
            }
            None => tokio::task::spawn_blocking(move || netio::system_reverse_name(addr)).await.ok().flatten(),
        }
    }
}
