//! How well an observed fingerprint fits each reference, as Nmap scores it: every attribute
//! both have is worth its `MatchPoints`; the accuracy is the share of those points whose
//! observed value satisfies the reference's expression.

use crate::db::{OsDb, Reference, Tests};
use crate::expr::matches;

/// A reference and how well it fits.
#[derive(Debug, Clone, Copy)]
pub struct Match<'db> {
    pub reference: &'db Reference,
    /// 0 to 1.
    pub accuracy: f64,
}

/// Nmap keeps this many guesses.
pub const MAX_MATCHES: usize = 36;

/// The share of points `observed` earns against `reference`; 0 when they share no attribute.
pub fn accuracy(db: &OsDb, reference: &Reference, observed: &Tests) -> f64 {
    let (mut possible, mut earned) = (0u64, 0u64);
    for (test, points) in &db.points {
        let (Some(expected), Some(seen)) = (attributes(&reference.tests, test), attributes(observed, test)) else {
            continue;
        };
        // TCP options may hold bracketed expressions: the whole OPS test, and O elsewhere.
        let options_test = test == "OPS";
        for (attribute, &worth) in points {
            let (Some(expr), Some(value)) = (value_of(expected, attribute), value_of(seen, attribute)) else {
                continue;
            };
            possible += u64::from(worth);
            if matches(value, expr, options_test || attribute == "O") {
                earned += u64::from(worth);
            }
        }
    }
    if possible == 0 {
        0.0
    } else {
        earned as f64 / possible as f64
    }
}

/// The references that fit at least `threshold`, best first, each OS name once (its best fit),
/// at most [`MAX_MATCHES`].
pub fn best_matches<'db>(db: &'db OsDb, observed: &Tests, threshold: f64) -> Vec<Match<'db>> {
    let mut found: Vec<Match<'db>> = Vec::new();
    for reference in &db.references {
        let accuracy = accuracy(db, reference, observed);
        if accuracy < threshold {
            continue;
        }
        // One entry per OS name, its best fit; a better one is taken as found now, as Nmap
        // does, which places it after the equal fits found before it.
        match found.iter().position(|known| known.reference.name == reference.name) {
            Some(known) if found[known].accuracy >= accuracy => continue,
            Some(known) => {
                found.remove(known);
            }
            None => {}
        }
        found.push(Match { reference, accuracy });
    }
    // Stable: among equal fits, the order they were found in stands, as in Nmap.
    found.sort_by(|a, b| b.accuracy.total_cmp(&a.accuracy));
    found.truncate(MAX_MATCHES);
    found
}

fn attributes<'t>(tests: &'t Tests, name: &str) -> Option<&'t [(String, String)]> {
    tests.iter().find(|(test, _)| test == name).map(|(_, attributes)| attributes.as_slice())
}

fn value_of<'t>(attributes: &'t [(String, String)], name: &str) -> Option<&'t str> {
    attributes.iter().find(|(attribute, _)| attribute == name).map(|(_, value)| value.as_str())
}
