//! Real Debian daemons in the target namespace, for version detection: each runs in the
//! foreground from a configuration written into a scratch directory (no systemd, nothing of the
//! host's configuration touched), and is killed when the [`Daemons`] drop.

use std::collections::BTreeMap;
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon the lab can run, and the ports it listens on there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    /// OpenSSH on 22 and, as a service on an unexpected port, 443.
    Ssh,
    /// nginx on 80, on 9002, and behind TLS (HTTP/2 offered by ALPN) on 8443.
    Nginx,
    /// Redis on 6379, and a second instance on 8080.
    Redis,
    /// memcached on 11211.
    Memcached,
    /// vsftpd on 21.
    Vsftpd,
    /// PostgreSQL on 5432.
    Postgres,
    /// Dovecot: POP3 on 110, IMAP on 143, and both behind TLS on 995 and 993.
    Dovecot,
    /// Exim on 25, calling itself MAIL_NAME.
    Exim,
    /// MariaDB on 3306.
    MariaDb,
}

impl Daemon {
    pub const ALL: [Daemon; 9] = [
        Daemon::Ssh,
        Daemon::Nginx,
        Daemon::Redis,
        Daemon::Memcached,
        Daemon::Vsftpd,
        Daemon::Postgres,
        Daemon::Dovecot,
        Daemon::Exim,
        Daemon::MariaDb,
    ];

    /// Its ports: the usual one first, then any unexpected one.
    pub fn ports(self) -> &'static [u16] {
        match self {
            Daemon::Ssh => &[22, 443],
            Daemon::Nginx => &[80, 9002, TLS_PORT],
            Daemon::Redis => &[6379, 8080],
            Daemon::Memcached => &[11211],
            Daemon::Vsftpd => &[21],
            Daemon::Postgres => &[5432],
            Daemon::Dovecot => &[110, 143, 993, 995],
            Daemon::Exim => &[25],
            Daemon::MariaDb => &[3306],
        }
    }

    /// The Debian package that carries it.
    pub fn package(self) -> &'static str {
        match self {
            Daemon::Ssh => "openssh-server",
            Daemon::Nginx => "nginx-light",
            Daemon::Redis => "redis-server",
            Daemon::Memcached => "memcached",
            Daemon::Vsftpd => "vsftpd",
            Daemon::Postgres => "postgresql",
            Daemon::Dovecot => "dovecot-imapd",
            Daemon::Exim => "exim4-daemon-light",
            Daemon::MariaDb => "mariadb-server",
        }
    }

    /// The installed package's version ("1:9.2p1-2+deb12u3"), the ground truth of -sV.
    pub fn installed_version(self) -> io::Result<String> {
        let output = Command::new("dpkg-query").args(["-W", "-f=${Version}", self.package()]).output()?;
        if !output.status.success() || output.stdout.is_empty() {
            return Err(io::Error::other(format!("{} is not installed", self.package())));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// What -sV must say of `port`, from the installed package: the SERVICE and VERSION
    /// columns ("ssh", "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)").
    pub fn truth(self, port: u16) -> io::Result<(&'static str, String)> {
        let package = self.installed_version()?;
        // "1:9.2p1-2+deb12u3": the epoch before ':', the Debian revision after the last '-'.
        let without_epoch = package.split_once(':').map_or(package.as_str(), |(_, rest)| rest);
        let (upstream, revision) = without_epoch.rsplit_once('-').unwrap_or((without_epoch, ""));
        Ok(match self {
            Daemon::Ssh => ("ssh", format!("OpenSSH {upstream} Debian {revision} (protocol 2.0)")),
            Daemon::Nginx if port == TLS_PORT => ("ssl/http", format!("nginx {upstream}")),
            Daemon::Nginx => ("http", format!("nginx {upstream}")),
            Daemon::Redis => ("redis", format!("Redis key-value store {upstream}")),
            Daemon::Memcached => ("memcached", format!("Memcached {upstream}")),
            Daemon::Vsftpd => ("ftp", format!("vsftpd {upstream}")),
            // Without credentials the protocol tells which range of major versions it is.
            Daemon::Postgres => ("postgresql", format!("PostgreSQL DB {}", postgres_range(postgres_major(upstream)))),
            // Dovecot's greeting names it, not its version.
            Daemon::Dovecot => match port {
                110 => ("pop3", "Dovecot pop3d".into()),
                995 => ("ssl/pop3", "Dovecot pop3d".into()),
                143 => ("imap", "Dovecot imapd".into()),
                _ => ("ssl/imap", "Dovecot imapd".into()),
            },
            Daemon::Exim => ("smtp", format!("Exim smtpd {upstream}")),
            Daemon::MariaDb => ("mysql", format!("MariaDB {upstream}-{revision}")),
        })
    }
}

/// The SERVICE and VERSION cells of each open TCP port in a normal report, ours or Nmap's:
/// what -sV said of the daemons.
pub fn service_columns(report: &str) -> BTreeMap<u16, (String, String)> {
    report
        .lines()
        .filter_map(|line| {
            let (port, rest) = line.split_once("/tcp ")?;
            let rest = rest.trim_start().strip_prefix("open")?.trim_start();
            let (service, version) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            Some((port.parse().ok()?, (service.to_string(), version.trim().to_string())))
        })
        .collect()
}

/// The installed PostgreSQL's programs (/usr/lib/postgresql/N/bin, the newest N).
fn postgres_bin() -> io::Result<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql")?.flatten().map(|entry| entry.path()).collect();
    versions.sort_by_key(|path| path.file_name().and_then(|name| name.to_str()?.parse::<u32>().ok()).unwrap_or(0));
    versions.pop().map(|dir| dir.join("bin")).ok_or_else(|| io::Error::other("no PostgreSQL in /usr/lib/postgresql"))
}

/// A fresh cluster in `data`, owned by postgres: PostgreSQL refuses to run as root.
fn init_postgres(bin: &Path, data: &Path) -> io::Result<()> {
    owned_directory(data, "postgres")?;
    let data = data.to_string_lossy();
    let initdb = bin.join("initdb").to_string_lossy().into_owned();
    let line = as_postgres(&[&initdb, "-A", "trust", "-D", &data]);
    let output = Command::new(&line[0]).args(&line[1..]).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!("initdb failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok(())
}

/// A fresh MariaDB data directory in `data`, owned by mysql, which the server runs as.
fn init_mariadb(data: &str) -> io::Result<()> {
    owned_directory(Path::new(data), "mysql")?;
    let output = Command::new("mariadb-install-db")
        .args([
            "--user=mysql",
            &format!("--datadir={data}"),
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
        ])
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "mariadb-install-db failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// Makes `dir` and gives it to `user`: the daemons that drop root write there as that user.
fn owned_directory(dir: &Path, user: &str) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if !Command::new("chown").arg(user).arg(dir).status()?.success() {
        return Err(io::Error::other(format!("chown {user} {} failed", dir.display())));
    }
    Ok(())
}

/// A command line run as the postgres user: "runuser -u postgres -- …".
fn as_postgres(command: &[&str]) -> Vec<String> {
    ["runuser", "-u", "postgres", "--"].iter().chain(command).map(|word| word.to_string()).collect()
}

/// The range of PostgreSQL versions that speak the same protocol versions as `major`.
fn postgres_range(major: u32) -> &'static str {
    match major {
        ..=13 => "9.6 - 13",
        14..=17 => "14 - 17",
        _ => "18 or later",
    }
}

/// The major version of Debian's "postgresql" metapackage version ("15+248" is 15).
fn postgres_major(upstream: &str) -> u32 {
    upstream.split(['+', '.']).next().and_then(|major| major.parse().ok()).unwrap_or(0)
}

/// The host name Exim greets with.
pub const MAIL_NAME: &str = "mail.lab";

/// nginx's TLS port.
pub const TLS_PORT: u16 = 8443;
/// The TLS certificate's subject and name.
pub const TLS_NAME: &str = "www.lab";

/// Running daemons; killed on drop.
pub struct Daemons {
    namespace: String,
    children: Vec<Child>,
}

/// How long the daemons get to open their ports.
const START_TIMEOUT: Duration = Duration::from_secs(15);

impl Daemons {
    /// Starts every daemon in `namespace` (whose address is `addr`), configured from files in
    /// `scratch`, and waits until all their ports accept connections.
    pub fn start(namespace: &str, addr: Ipv4Addr, scratch: &Path) -> io::Result<Daemons> {
        std::fs::create_dir_all(scratch)?;
        let mut daemons = Daemons { namespace: namespace.to_string(), children: Vec::new() };
        for daemon in Daemon::ALL {
            for command in commands(daemon, scratch)? {
                let child = in_namespace(namespace, &command).stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
                daemons.children.push(child);
            }
        }
        let ports: Vec<u16> = Daemon::ALL.iter().flat_map(|daemon| daemon.ports()).copied().collect();
        wait_for_ports(namespace, addr, &ports)?;
        Ok(daemons)
    }
}

impl Drop for Daemons {
    /// Kills every process in the namespace, not only the ones started: daemons fork workers
    /// (nginx, PostgreSQL, Dovecot) that outlive their parent, and runuser forks PostgreSQL.
    fn drop(&mut self) {
        let pids = Command::new("ip").args(["netns", "pids", &self.namespace]).output();
        let pids = pids.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
        for pid in pids.split_whitespace().filter_map(|pid| pid.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn in_namespace(namespace: &str, command: &[String]) -> Command {
    let mut process = Command::new("ip");
    process.args(["netns", "exec", namespace]).args(command);
    process
}

/// The foreground command lines that run `daemon` on its ports.
fn commands(daemon: Daemon, scratch: &Path) -> io::Result<Vec<Vec<String>>> {
    let path = |name: &str| scratch.join(name).to_string_lossy().into_owned();
    let words = |text: &str| text.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    Ok(match daemon {
        Daemon::Ssh => {
            let key = path("ssh_host_ed25519_key");
            if !Path::new(&key).exists() {
                let status = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f", &key]).status()?;
                if !status.success() {
                    return Err(io::Error::other("ssh-keygen failed"));
                }
            }
            // sshd's privilege separation needs this directory.
            std::fs::create_dir_all("/run/sshd")?;
            let config = format!(
                "Port 22\nPort 443\nHostKey {key}\nPidFile {}\nUsePAM no\nListenAddress 0.0.0.0\n",
                path("sshd.pid")
            );
            std::fs::write(path("sshd_config"), config)?;
            vec![words(&format!("/usr/sbin/sshd -D -e -f {}", path("sshd_config")))]
        }
        Daemon::Nginx => {
            let (cert, key) = self_signed_certificate(scratch)?;
            let config = format!(
                "pid {};\nerror_log {} warn;\nevents {{}}\nhttp {{\n access_log off;\n \
                 client_body_temp_path {0}.body;\n server {{ listen 80; listen 9002; root {}; }}\n \
                 server {{ listen {TLS_PORT} ssl http2; ssl_protocols TLSv1.2 TLSv1.3; ssl_certificate {cert}; ssl_certificate_key {key}; root {2}; }}\n}}\n",
                path("nginx.pid"),
                path("nginx.log"),
                scratch.display()
            );
            std::fs::write(path("nginx.conf"), config)?;
            vec![vec!["nginx".into(), "-c".into(), path("nginx.conf"), "-g".into(), "daemon off;".into()]]
        }
        Daemon::Redis => daemon
            .ports()
            .iter()
            .map(|port| {
                let mut command = words(&format!("redis-server --port {port} --bind 0.0.0.0 --protected-mode no"));
                // No snapshots: `--save ""`, the empty word.
                command.extend(["--save".into(), String::new(), "--dir".into(), path("")]);
                command
            })
            .collect(),
        Daemon::Memcached => vec![words("memcached -u root -p 11211 -U 0 -l 0.0.0.0")],
        Daemon::Dovecot => {
            let (cert, key) = self_signed_certificate(scratch)?;
            // Logins are never tried: any user, one password, no mail store.
            let config = format!(
                "protocols = imap pop3\nlisten = *\nbase_dir = {}\nstate_dir = {}\nlog_path = {}\n\
                 ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\n\
                 passdb {{\n driver = static\n args = password=unused\n}}\n\
                 userdb {{\n driver = static\n args = uid=nobody gid=nogroup home=/nonexistent\n}}\n",
                path("dovecot-run"),
                path("dovecot-state"),
                path("dovecot.log")
            );
            std::fs::write(path("dovecot.conf"), config)?;
            vec![vec!["dovecot".into(), "-F".into(), "-c".into(), path("dovecot.conf")]]
        }
        Daemon::Exim => {
            // Exim drops root for its own user, which must own the spool.
            let spool = path("exim-spool");
            owned_directory(Path::new(&spool), "Debian-exim")?;
            let config = format!(
                "primary_hostname = {MAIL_NAME}\ndaemon_smtp_ports = 25\nspool_directory = {spool}\n\
                 log_file_path = {spool}/%slog\nexim_user = Debian-exim\nexim_group = Debian-exim\n\
                 acl_smtp_rcpt = refuse\nbegin acl\nrefuse:\n  deny\nbegin routers\nbegin transports\n"
            );
            std::fs::write(path("exim.conf"), config)?;
            vec![vec!["/usr/sbin/exim4".into(), "-C".into(), path("exim.conf"), "-bdf".into()]]
        }
        Daemon::MariaDb => {
            let data = path("mariadb");
            if !Path::new(&data).exists() {
                init_mariadb(&data)?;
            }
            // No grant tables: the greeting goes to any client, whatever its address.
            let settings = format!(
                "/usr/sbin/mariadbd --user=mysql --datadir={data} --socket={data}/socket --pid-file={data}/pid \
                 --port=3306 --bind-address=0.0.0.0 --skip-grant-tables --log-error={data}/error.log"
            );
            vec![words(&settings)]
        }
        Daemon::Postgres => {
            let data = scratch.join("postgres");
            let bin = postgres_bin()?;
            if !data.exists() {
                init_postgres(&bin, &data)?;
            }
            let socket_dir = data.to_string_lossy().into_owned();
            let server = [bin.join("postgres").to_string_lossy().into_owned(), "-D".into(), socket_dir.clone()];
            let settings = ["-k", &socket_dir, "-p", "5432", "-c", "listen_addresses=*"];
            vec![as_postgres(&server.iter().map(String::as_str).chain(settings).collect::<Vec<_>>())]
        }
        Daemon::Vsftpd => {
            std::fs::create_dir_all("/var/run/vsftpd/empty")?;
            let config = "listen=YES\nlisten_port=21\nbackground=NO\nanonymous_enable=NO\nlocal_enable=YES\n\
                          pam_service_name=vsftpd\nsecure_chroot_dir=/var/run/vsftpd/empty\n";
            std::fs::write(path("vsftpd.conf"), config)?;
            vec![vec!["vsftpd".into(), path("vsftpd.conf")]]
        }
    })
}

/// A self-signed RSA certificate for TLS_NAME in `scratch`, made with the openssl command the
/// first time: its (certificate, key) paths.
fn self_signed_certificate(scratch: &Path) -> io::Result<(String, String)> {
    let cert = scratch.join("tls.crt").to_string_lossy().into_owned();
    let key = scratch.join("tls.key").to_string_lossy().into_owned();
    if Path::new(&cert).exists() {
        return Ok((cert, key));
    }
    let subject = format!("/CN={TLS_NAME}");
    let names = format!("subjectAltName=DNS:{TLS_NAME}");
    let args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", &subject, "-addext", &names];
    let output = Command::new("openssl").args(args).args(["-keyout", &key, "-out", &cert]).output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!("openssl req failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok((cert, key))
}

/// Waits until every port of `addr` accepts a connection from inside `namespace`.
fn wait_for_ports(namespace: &str, addr: Ipv4Addr, ports: &[u16]) -> io::Result<()> {
    let started = Instant::now();
    let listening = |port: u16| {
        let output = Command::new("ip").args(["netns", "exec", namespace, "ss", "-Hltn"]).output();
        output.map(|out| String::from_utf8_lossy(&out.stdout).contains(&format!(":{port} "))).unwrap_or(false)
    };
    for &port in ports {
        while !listening(port) {
            if started.elapsed() > START_TIMEOUT {
                return Err(io::Error::other(format!("no daemon listening on {addr}:{port}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}
