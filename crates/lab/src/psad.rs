//! Debian's psad as a detector in the lab, fed as psad is in production: the target namespace
//! logs every SYN it receives (an nftables `log group` rule) through ulogd2, whose LOGEMU
//! output writes the kernel's iptables-style log lines psad parses; psad then analyses the
//! file (`psad -A`) and says at which danger level it rates each source, and which of its
//! signatures matched.
//!
//! Analysis mode counts every packet of the file, whenever it came (psad's SCAN_TIMEOUT acts
//! only in its daemon): it checks the counting (packets per destination against
//! DANGER_LEVEL1 to 5, signature ports), not the timing of a schedule. For the timing,
//! [`PsadLog::watch`] runs psad's daemon on the same file with its clock scaled down.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Lab;

/// The NFLOG group the rule logs to and ulogd reads.
const NFLOG_GROUP: u16 = 7;
const ULOGD_PLUGINS: &str = "/usr/lib/x86_64-linux-gnu/ulogd";

/// psad's verdict on a log: each source's danger level (sources it rates at none are absent),
/// and the names of the signatures that matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsadReport {
    pub danger_levels: HashMap<Ipv4Addr, u8>,
    pub signatures: Vec<String>,
}

/// ulogd logging the target's incoming SYNs to a file, until dropped.
pub struct PsadLog {
    ulogd: Child,
    dir: PathBuf,
    log: PathBuf,
}

impl PsadLog {
    /// Starts logging every SYN `lab`'s target receives; returns once ulogd listens.
    pub fn start(lab: &Lab) -> io::Result<PsadLog> {
        let dir = std::env::temp_dir().join(format!("portolan-psad-{}-{}", std::process::id(), lab.target_namespace()));
        std::fs::create_dir_all(&dir)?;
        let log = dir.join("syslogemu.log");
        let config = dir.join("ulogd.conf");
        std::fs::write(&config, ulogd_config(&dir, &log))?;
        let ulogd = Command::new("ip")
            .args(["netns", "exec", lab.target_namespace(), "ulogd", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut psad_log = PsadLog { ulogd, dir, log };
        psad_log.wait_for_ulogd()?;
        // Each packet handed to ulogd at once (the kernel batches a hundred, or a second's).
        lab.nft(&format!(
            "table inet psad_log {{\n  chain input {{\n    type filter hook input priority -5; policy accept;\n    \
             tcp flags & (syn | ack) == syn log group {NFLOG_GROUP} queue-threshold 1\n  }}\n}}\n"
        ))?;
        Ok(psad_log)
    }

    /// ulogd creates its output file once its stack is up.
    fn wait_for_ulogd(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log.exists() {
            if let Some(status) = self.ulogd.try_wait()? {
                return Err(io::Error::other(format!("ulogd ended before it logged: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("ulogd did not start within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The lines logged so far, once no more have come for a moment: the kernel hands
    /// packets to ulogd asynchronously, so the last ones land a little after a scan ends.
    pub fn lines(&self) -> io::Result<usize> {
        let count = || Ok::<_, io::Error>(std::fs::read_to_string(&self.log)?.lines().count());
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut last = count()?;
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let now = count()?;
            if (now == last && now > 0) || Instant::now() > deadline {
                return Ok(now);
            }
            last = now;
        }
    }

    /// psad's analysis of everything logged so far; the log then starts afresh.
    pub fn analyse(&self) -> io::Result<PsadReport> {
        self.lines()?;
        let output = Command::new("psad").args(["-A", "-m"]).arg(&self.log).output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!("psad -A failed: {}", String::from_utf8_lossy(&output.stderr))));
        }
        std::fs::OpenOptions::new().write(true).truncate(true).open(&self.log)?;
        Ok(parse_analysis(&String::from_utf8_lossy(&output.stdout)))
    }
}

/// Where Debian's psad keeps its configuration, whose other files (signatures, protocols)
/// the daemon reads as installed.
const PSAD_CONFIG: &str = "/etc/psad/psad.conf";

impl PsadLog {
    /// Runs psad's daemon on this log, reading it and timing out its scan records every
    /// second, a record living `scan_timeout` seconds (psad's default: an hour, read every
    /// 5 s and timed out every 25 s). Returns once psad reads the log.
    pub fn watch(&self, lab: &Lab, scan_timeout: u32) -> io::Result<PsadDaemon> {
        let dir = self.dir.join("daemon");
        for sub in ["data", "run", "fifo"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let config = dir.join("psad.conf");
        std::fs::write(&config, daemon_config(&std::fs::read_to_string(PSAD_CONFIG)?, &dir, &self.log, scan_timeout))?;
        let debug = dir.join("debug.log");
        // In the target namespace, which has no way out: psad looks nothing up anyway.
        let psad = Command::new("ip")
            .args(["netns", "exec", lab.target_namespace(), "psad", "--debug", "-c"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&debug)?)
            .spawn()?;
        let mut daemon = PsadDaemon { psad, data: dir.join("data") };
        daemon.wait_until_reading(&debug)?;
        Ok(daemon)
    }
}

/// psad's daemon in the foreground (`--debug`), until dropped.
pub struct PsadDaemon {
    psad: Child,
    data: PathBuf,
}

impl PsadDaemon {
    /// psad's debug output says each time it reads the log.
    fn wait_until_reading(&mut self, debug: &std::path::Path) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::fs::read_to_string(debug)?.contains("number of new packets") {
                return Ok(());
            }
            if let Some(status) = self.psad.try_wait()? {
                let output = std::fs::read_to_string(debug).unwrap_or_default();
                return Err(io::Error::other(format!("psad ended ({status}): {output}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("psad did not read its log within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The danger level psad has rated `source` at so far, if it has rated it at all (psad
    /// writes it to a file of the source's own when it does).
    pub fn danger_level(&self, source: Ipv4Addr) -> Option<u8> {
        let file = self.data.join(source.to_string()).join("danger_level");
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }
}

impl Drop for PsadDaemon {
    fn drop(&mut self) {
        let _ = self.psad.kill();
        let _ = self.psad.wait();
    }
}

/// Debian's psad.conf with its state kept in `dir`, the log read from `log` every second,
/// records timed out at every check after `scan_timeout` seconds, and nothing sent anywhere
/// (no mail, syslog, whois or DNS).
fn daemon_config(installed: &str, dir: &std::path::Path, log: &std::path::Path, scan_timeout: u32) -> String {
    let settings = [
        ("PSAD_DIR", dir.join("data").display().to_string()),
        ("PSAD_RUN_DIR", dir.join("run").display().to_string()),
        ("PSAD_FIFO_DIR", dir.join("fifo").display().to_string()),
        ("ENABLE_SYSLOG_FILE", "Y".into()),
        ("IPT_SYSLOG_FILE", log.display().to_string()),
        ("ENABLE_FW_MSG_READ_CMD", "N".into()),
        ("ENABLE_PERSISTENCE", "N".into()),
        ("CHECK_INTERVAL", "1".into()),
        ("PERSISTENCE_CTR_THRESHOLD", "1".into()),
        ("SCAN_TIMEOUT", scan_timeout.to_string()),
        ("ALERTING_METHODS", "noemail,nosyslog".into()),
        ("ENABLE_SIG_MSG_SYSLOG", "N".into()),
        ("ENABLE_WHOIS_LOOKUPS", "N".into()),
        ("ENABLE_DNS_LOOKUPS", "N".into()),
        ("ENABLE_FW_LOGGING_CHECK", "N".into()),
        ("IMPORT_OLD_SCANS", "N".into()),
    ];
    let mut config = String::new();
    for line in installed.lines() {
        let key = line.split_whitespace().next().unwrap_or("");
        match settings.iter().find(|(name, _)| *name == key) {
            Some((name, value)) => config += &format!("{name}    {value};\n"),
            None => config += &format!("{line}\n"),
        }
    }
    config
}

impl Drop for PsadLog {
    fn drop(&mut self) {
        let _ = self.ulogd.kill();
        let _ = self.ulogd.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// ulogd's stack from NFLOG to LOGEMU, the format of the kernel's own log lines.
fn ulogd_config(dir: &std::path::Path, log: &std::path::Path) -> String {
    let plugins =
        ["inppkt_NFLOG", "raw2packet_BASE", "filter_IFINDEX", "filter_IP2STR", "filter_PRINTPKT", "output_LOGEMU"];
    let mut config = format!("[global]\nlogfile=\"{}\"\nloglevel=3\n", dir.join("ulogd.log").display());
    for plugin in plugins {
        config += &format!("plugin=\"{ULOGD_PLUGINS}/ulogd_{plugin}.so\"\n");
    }
    config += "stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,print1:PRINTPKT,emu1:LOGEMU\n\n";
    config += &format!("[log1]\ngroup={NFLOG_GROUP}\n\n[emu1]\nfile=\"{}\"\nsync=1\n", log.display());
    config
}

/// The "IP Status Detail" of psad's analysis: "SRC:  198.18.0.1, DL: 2, ..." per source, and
/// "Signature match: "NAME"" lines.
fn parse_analysis(text: &str) -> PsadReport {
    let mut report = PsadReport::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("SRC:") {
            let mut fields = rest.split(',').map(str::trim);
            let source = fields.next().and_then(|s| s.parse().ok());
            let level = fields.find_map(|f| f.strip_prefix("DL:")).and_then(|l| l.trim().parse().ok());
            if let (Some(source), Some(level)) = (source, level) {
                report.danger_levels.insert(source, level);
            }
        } else if let Some(name) = line.strip_prefix("Signature match: ") {
            report.signatures.push(name.trim_matches('"').to_string());
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_settings_replace_the_installed_ones() {
        let installed = "### comment\nCHECK_INTERVAL              5;\nSCAN_TIMEOUT                3600;  ### seconds\nDANGER_LEVEL1 5;\n";
        let config = daemon_config(installed, "/d".as_ref(), "/d/log".as_ref(), 10);
        assert_eq!(config, "### comment\nCHECK_INTERVAL    1;\nSCAN_TIMEOUT    10;\nDANGER_LEVEL1 5;\n");
    }

    #[test]
    fn reads_psads_status_detail() {
        let text = "[+] IP Status Detail:\n\nSRC:  198.18.0.1, DL: 2, Dsts: 1, Pkts: 12, Total protocols: 1, Unique sigs: 1\n\n    DST: 198.18.0.2\n        Signature match: \"MISC MS Terminal Server communication attempt\"\n";
        let report = parse_analysis(text);
        assert_eq!(report.danger_levels, HashMap::from([(Ipv4Addr::new(198, 18, 0, 1), 2)]));
        assert_eq!(report.signatures, ["MISC MS Terminal Server communication attempt"]);
        assert_eq!(parse_analysis("[+] IP Status Detail:\n        [NONE]\n"), PsadReport::default());
    }
}
