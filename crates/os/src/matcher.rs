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

/// The attributes that score, in the order of `MatchPoints` (test by test, attribute by
/// attribute), with their worth; each slot's distinct expressions; and which of them each
/// reference has in each slot. Built once per database. The references hold some 500,000
/// expressions but only tens of thousands distinct per attribute, so a host's values are
/// matched against each distinct one once, and each reference only adds up the results
/// (matching every expression of every reference took 10-30 ms a host).
#[derive(Debug)]
pub(crate) struct Slots {
    /// Per slot: (test, attribute, points, whether `[…]` parts are allowed).
    scored: Vec<(String, String, u32, bool)>,
    /// Per slot, its distinct expressions.
    distinct: Vec<Vec<String>>,
    /// Per reference, per slot: which distinct expression it has there, if any.
    chosen: Vec<Option<u32>>,
}

impl Slots {
    fn of(db: &OsDb) -> Slots {
        let scored: Vec<(String, String, u32, bool)> = db
            .points
            .iter()
            .flat_map(|(test, points)| {
                // TCP options may hold bracketed expressions: the whole OPS test, and O elsewhere.
                points.iter().map(move |(attribute, &worth)| {
                    (test.clone(), attribute.clone(), worth, test == "OPS" || attribute == "O")
                })
            })
            .collect();
        let mut distinct: Vec<Vec<String>> = vec![Vec::new(); scored.len()];
        let mut known: Vec<std::collections::HashMap<String, u32>> = vec![Default::default(); scored.len()];
        let mut chosen = Vec::with_capacity(db.references.len() * scored.len());
        for reference in &db.references {
            for (slot, expr) in values_in(&reference.tests, &scored).into_iter().enumerate() {
                chosen.push(expr.map(|expr| {
                    *known[slot].entry(expr.to_string()).or_insert_with(|| {
                        distinct[slot].push(expr.to_string());
                        (distinct[slot].len() - 1) as u32
                    })
                }));
            }
        }
        Slots { scored, distinct, chosen }
    }
}

/// The value `tests` give each scored attribute.
fn values_in<'t>(tests: &'t Tests, scored: &[(String, String, u32, bool)]) -> Vec<Option<&'t str>> {
    scored
        .iter()
        .map(|(test, attribute, _, _)| {
            let (_, attributes) = tests.iter().find(|(name, _)| name == test)?;
            attributes.iter().find(|(name, _)| name == attribute).map(|(_, value)| value.as_str())
        })
        .collect()
}

/// The share of points `observed` earns against `reference`; 0 when they share no attribute.
pub fn accuracy(db: &OsDb, reference: &Reference, observed: &Tests) -> f64 {
    let slots = db.slots.get_or_init(|| Slots::of(db));
    let expressions = values_in(&reference.tests, &slots.scored);
    score(&slots.scored, expressions.into_iter(), &values_in(observed, &slots.scored))
}

/// The share of points earned: `expressions` a reference's per slot, `observed` the values.
fn score<'e>(
    scored: &[(String, String, u32, bool)],
    expressions: impl Iterator<Item = Option<&'e str>>,
    observed: &[Option<&str>],
) -> f64 {
    let (mut possible, mut earned) = (0u64, 0u64);
    for ((expr, value), (_, _, worth, nested)) in expressions.zip(observed).zip(scored) {
        let (Some(expr), Some(value)) = (expr, value) else { continue };
        possible += u64::from(*worth);
        if matches(value, expr, *nested) {
            earned += u64::from(*worth);
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
    let slots = db.slots.get_or_init(|| Slots::of(db));
    let values = values_in(observed, &slots.scored);
    // Per slot, whether the observed value satisfies each distinct expression (None: the
    // observation lacks the attribute).
    let satisfied: Vec<Option<Vec<bool>>> = values
        .iter()
        .zip(&slots.distinct)
        .zip(&slots.scored)
        .map(|((value, distinct), (_, _, _, nested))| {
            value.map(|value| distinct.iter().map(|expr| matches(value, expr, *nested)).collect())
        })
        .collect();
    let width = slots.scored.len();
    let mut found: Vec<Match<'db>> = Vec::new();
    for (index, reference) in db.references.iter().enumerate() {
        let (mut possible, mut earned) = (0u64, 0u64);
        for (slot, chosen) in slots.chosen[index * width..(index + 1) * width].iter().enumerate() {
            let (Some(chosen), Some(satisfied)) = (chosen, &satisfied[slot]) else { continue };
            let worth = u64::from(slots.scored[slot].2);
            possible += worth;
            if satisfied[*chosen as usize] {
                earned += worth;
            }
        }
        let accuracy = if possible == 0 { 0.0 } else { earned as f64 / possible as f64 };
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
