//! `-v`'s account of the scan's phases, in Nmap's words: "Initiating SYN Stealth Scan at
//! 12:00", "Scanning 3 hosts [1000 ports/host]", "Completed SYN Stealth Scan at 12:00, 0.25s
//! elapsed (3000 total ports)".

use std::time::Instant;

use model::Target;

/// A phase under way; says it is done when finished.
pub struct Phase {
    name: &'static str,
    started: Instant,
    verbose: bool,
}

impl Phase {
    /// Announces `name` over `targets`, each probed on `per_host` ports (or probes).
    pub fn begin(verbose: bool, name: &'static str, targets: &[Target], per_host: usize) -> Phase {
        if verbose {
            println!("Initiating {name} at {}", clock());
            let ports = if per_host == 1 { "port" } else { "ports" };
            match targets {
                [one] => println!("Scanning {} [{per_host} {ports}]", title(one)),
                many => println!("Scanning {} hosts [{per_host} {ports}/host]", many.len()),
            }
        }
        Phase { name, started: Instant::now(), verbose }
    }

    /// Says the phase is done, with what it covered ("4 total hosts", "3000 total ports").
    pub fn end(self, covered: usize, unit: &str) {
        if self.verbose {
            let elapsed = self.started.elapsed().as_secs_f64();
            println!("Completed {} at {}, {elapsed:.2}s elapsed ({covered} total {unit})", self.name, clock());
        }
    }
}

fn clock() -> String {
    jiff::Zoned::now().strftime("%H:%M").to_string()
}

fn title(target: &Target) -> String {
    match &target.name {
        Some(name) => format!("{name} ({})", target.addr),
        None => target.addr.to_string(),
    }
}
