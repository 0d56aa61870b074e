//! Debian's psad as a detector in the lab, fed as psad is in production: the target namespace
//! logs every SYN it receives (an nftables `log group` rule) through ulogd2, whose LOGEMU
//! output writes the kernel's iptables-style log lines psad parses; psad then analyses the
//! file (`psad -A`) and says at which danger level it rates each source, and which of its
//! signatures matched.
//!
//! Analysis mode counts every packet of the file, whenever it came (psad's SCAN_TIMEOUT acts
//! only in its daemon): it checks the counting (packets per destination against
//! DANGER_LEVEL1 to 5, signature ports), not the timing of a schedule.

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
        lab.nft(&format!(
            "table inet psad_log {{\n  chain input {{\n    type filter hook input priority -5; policy accept;\n    \
             tcp flags & (syn | ack) == syn log group {NFLOG_GROUP}\n  }}\n}}\n"
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
    fn reads_psads_status_detail() {
        let text = "[+] IP Status Detail:\n\nSRC:  198.18.0.1, DL: 2, Dsts: 1, Pkts: 12, Total protocols: 1, Unique sigs: 1\n\n    DST: 198.18.0.2\n        Signature match: \"MISC MS Terminal Server communication attempt\"\n";
        let report = parse_analysis(text);
        assert_eq!(report.danger_levels, HashMap::from([(Ipv4Addr::new(198, 18, 0, 1), 2)]));
        assert_eq!(report.signatures, ["MISC MS Terminal Server communication attempt"]);
        assert_eq!(parse_analysis("[+] IP Status Detail:\n        [NONE]\n"), PsadReport::default());
    }
}
