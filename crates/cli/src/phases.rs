//! `-v`'s account of the scan's phases, in Nmap's words: "Initiating SYN Stealth Scan at
//! 12:00", "Scanning 3 hosts [1000 ports/host]", "Completed SYN Stealth Scan at 12:00, 0.25s
//! elapsed (3000 total ports)".

use std::time::Instant;

use model::Target;

/// A phase under way; says it is done when finished.
pub struct Phase {
    name: String,
    started: Instant,
    verbose: bool,
}

impl Phase {
    /// Announces `name` over `targets`, each probed on `per_host` ports (or probes).
    pub fn begin(verbose: bool, name: &str, targets: &[Target], per_host: usize) -> Phase {
        let phase = Phase::announce(verbose, name.to_string());
        if verbose {
            let ports = if per_host == 1 { "port" } else { "ports" };
            match targets {
                [one] => println!("Scanning {} [{per_host} {ports}]", title(one)),
                many => println!("Scanning {} hosts [{per_host} {ports}/host]", many.len()),
            }
        }
        phase
    }

    /// Announces a phase that names its own scope ("Parallel DNS resolution of 3 hosts.").
    pub fn announce(verbose: bool, name: String) -> Phase {
        if verbose {
            println!("Initiating {name} at {}", clock());
        }
        Phase { name, started: Instant::now(), verbose }
    }

    /// Says the phase is done, with what it covered ("4 total hosts", "3000 total ports").
    pub fn end(self, covered: usize, unit: &str) {
        self.end_with(&format!(" ({covered} total {unit})"));
    }

    /// Says the phase is done.
    pub fn end_quietly(self) {
        self.end_with("");
    }

    pub fn end_with(self, covered: &str) {
        if self.verbose {
            let elapsed = self.started.elapsed().as_secs_f64();
            println!("Completed {} at {}, {elapsed:.2}s elapsed{covered}", self.name, clock());
        }
    }
}

fn clock() -> String {
    jiff::Zoned::now().strftime("%H:%M").to_string()
}

fn title(target: &Target) -> String {
    match target.display_name() {
        Some(name) => format!("{name} ({})", target.addr),
        None => target.addr.to_string(),
    }
}
