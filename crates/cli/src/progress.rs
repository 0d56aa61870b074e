//! Progress of a long scan: with `--stats-every`, Nmap's plain "Stats:" lines on standard
//! output; otherwise a bar with rate and ETA on an interactive standard error, or the same
//! plain lines on a standard error that is not a terminal, once a minute. None of it reaches
//! an output file.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What the scan has done so far, updated by the engine's observer and the report.
pub struct Progress {
    started: Instant,
    phase: Mutex<(&'static str, Instant)>,
    settled: AtomicU64,
    total: AtomicU64,
    hosts_done: AtomicU64,
    hosts_up: AtomicU64,
    undergoing: AtomicU64,
    finished: AtomicBool,
    /// The bar, while one is drawn.
    bar: Mutex<Option<ProgressBar>>,
}

/// How often the bar is redrawn.
const BAR_TICK: Duration = Duration::from_millis(200);
/// How often a standard error that is not a terminal (a log) gets a "Stats:" report.
const LOGGED_STATS_EVERY: Duration = Duration::from_secs(60);

impl Progress {
    pub fn new() -> Arc<Progress> {
        let now = Instant::now();
        Arc::new(Progress {
            started: now,
            phase: Mutex::new(("", now)),
            settled: AtomicU64::new(0),
            total: AtomicU64::new(0),
            hosts_done: AtomicU64::new(0),
            hosts_up: AtomicU64::new(0),
            undergoing: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            bar: Mutex::new(None),
        })
    }

    /// A phase ("SYN Stealth Scan") begins over `hosts` hosts.
    pub fn begin_phase(&self, name: &'static str, hosts: usize) {
        *self.phase.lock().expect("progress lock") = (name, Instant::now());
        self.undergoing.store(hosts as u64, Ordering::Relaxed);
        self.settled.store(0, Ordering::Relaxed);
        self.total.store(0, Ordering::Relaxed);
    }

    pub fn probes_settled(&self, settled: u64, total: u64) {
        self.settled.store(settled, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn host_done(&self, up: bool) {
        self.hosts_done.fetch_add(1, Ordering::Relaxed);
        self.hosts_up.fetch_add(u64::from(up), Ordering::Relaxed);
    }

    /// The fraction of the current phase done, once it has begun probing.
    fn fraction(&self) -> Option<f64> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.settled.load(Ordering::Relaxed) as f64 / total as f64)
    }

    /// Nmap's two lines: "Stats: 0:00:12 elapsed; 3 hosts completed (1 up), 2 undergoing SYN
    /// Stealth Scan" and "SYN Stealth Scan Timing: About 43.20% done; ETC: 12:01 (0:00:16
    /// remaining)".
    pub fn stats_lines(&self) -> String {
        let (phase, phase_started) = *self.phase.lock().expect("progress lock");
        let mut text = format!(
            "Stats: {} elapsed; {} hosts completed ({} up), {} undergoing {phase}",
            clock_duration(self.started.elapsed()),
            self.hosts_done.load(Ordering::Relaxed),
            self.hosts_up.load(Ordering::Relaxed),
            self.undergoing.load(Ordering::Relaxed),
        );
        if let Some(done) = self.fraction().filter(|&done| done > 0.0) {
            let spent = phase_started.elapsed().as_secs_f64();
            let remaining = Duration::from_secs_f64(spent * (1.0 - done) / done);
            let etc = jiff::Zoned::now().checked_add(remaining).map(|t| t.strftime("%H:%M").to_string());
            text += &format!(
                "\n{phase} Timing: About {:.2}% done; ETC: {} ({} remaining)",
                done * 100.0,
                etc.unwrap_or_default(),
                clock_duration(remaining)
            );
        }
        text
    }

    /// Shows progress until the scan finishes: `Stats:` lines every `interval` when given, on
    /// standard output unless `stdout_taken` (a format written there), then on standard
    /// error; else a bar on a terminal's standard error if `bar_allowed`; else `Stats:` lines
    /// once a minute on a standard error that is not a terminal.
    pub fn report(
        self: &Arc<Progress>,
        interval: Option<Duration>,
        stdout_taken: bool,
        bar_allowed: bool,
    ) -> Option<std::thread::JoinHandle<()>> {
        let progress = Arc::clone(self);
        let interactive = std::io::IsTerminal::is_terminal(&std::io::stderr());
        match interval {
            Some(interval) if stdout_taken => {
                Some(std::thread::spawn(move || progress.print_every(interval, |l| eprintln!("{l}"))))
            }
            Some(interval) => Some(std::thread::spawn(move || progress.print_every(interval, |l| println!("{l}")))),
            None if interactive && bar_allowed => Some(std::thread::spawn(move || progress.draw_bar())),
            None if interactive => None,
            None => Some(std::thread::spawn(move || progress.print_every(LOGGED_STATS_EVERY, |l| eprintln!("{l}")))),
        }
    }

    /// Runs `print` with the bar, if any, taken off the terminal, so that lines printed meanwhile
    /// are not drawn over.
    pub fn while_hidden<R>(&self, print: impl FnOnce() -> R) -> R {
        let bar = self.bar.lock().expect("progress lock").clone();
        match bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    pub fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }

    fn print_every(&self, interval: Duration, print: impl Fn(&str)) {
        let mut next = Instant::now() + interval;
        while !self.wait_until(next) {
            print(&self.stats_lines());
            next += interval;
        }
    }

    fn draw_bar(&self) {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg:>20} [{bar:30}] {percent:>3}% {per_sec} ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        *self.bar.lock().expect("progress lock") = Some(bar.clone());
        while !self.wait_until(Instant::now() + BAR_TICK) {
            bar.set_message(self.phase.lock().expect("progress lock").0);
            bar.set_length(self.total.load(Ordering::Relaxed));
            bar.set_position(self.settled.load(Ordering::Relaxed));
        }
        self.bar.lock().expect("progress lock").take();
        bar.finish_and_clear();
    }

    /// Sleeps until `deadline`; true if the scan finished meanwhile.
    fn wait_until(&self, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            if self.finished.load(Ordering::Relaxed) {
                return true;
            }
            std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(50)));
        }
        self.finished.load(Ordering::Relaxed)
    }
}

/// "0:00:12": hours, minutes and seconds, as Nmap prints durations.
pub(crate) fn clock_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_say_what_nmap_says() {
        let progress = Progress::new();
        progress.begin_phase("UDP Scan", 3);
        progress.host_done(true);
        assert_eq!(progress.stats_lines(), "Stats: 0:00:00 elapsed; 1 hosts completed (1 up), 3 undergoing UDP Scan");
        progress.probes_settled(50, 200);
        let lines = progress.stats_lines();
        assert!(lines.contains("\nUDP Scan Timing: About 25.00% done; ETC: "), "{lines}");
        assert!(lines.ends_with(" remaining)"), "{lines}");
    }

    #[test]
    fn durations_read_as_a_clock() {
        assert_eq!(clock_duration(Duration::from_secs(3725)), "1:02:05");
    }
}
