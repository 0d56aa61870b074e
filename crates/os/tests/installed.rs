//! Nmap's own nmap-os-db, when this machine has Nmap: every line loads, and an observation built
//! to satisfy a reference scores it perfectly, and ranks it first.

use os::{accuracy, best_matches, satisfying, Tests};

fn observation(tests: &Tests) -> Tests {
    let satisfy = |attributes: &Vec<(String, String)>| {
        attributes.iter().map(|(key, expr)| (key.clone(), satisfying(expr))).collect::<Vec<_>>()
    };
    tests.iter().map(|(name, attributes)| (name.clone(), satisfy(attributes))).collect()
}

#[test]
fn every_reference_loads_and_is_matched_perfectly_by_an_observation_that_satisfies_it() {
    let Some(db) = lab::nmap_os_db() else { return };
    assert!(db.references.len() > 5000, "{} references", db.references.len());
    let names: Vec<&str> = db.points.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["SEQ", "OPS", "WIN", "ECN", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "U1", "IE"]);
    let imperfect: Vec<&str> = db
        .references
        .iter()
        .filter(|reference| accuracy(&db, reference, &observation(&reference.tests)) < 1.0)
        .map(|reference| reference.name.as_str())
        .collect();
    assert!(imperfect.is_empty(), "{} imperfect, first: {:?}", imperfect.len(), imperfect.first());
}

#[test]
fn the_reference_an_observation_was_built_from_ranks_among_the_perfect_matches() {
    let Some(db) = lab::nmap_os_db() else { return };
    for reference in db.references.iter().step_by(401) {
        let matches = best_matches(&db, &observation(&reference.tests), 0.85);
        assert_eq!(matches[0].accuracy, 1.0, "{}", reference.name);
        let perfect = matches.iter().take_while(|found| found.accuracy == 1.0);
        assert!(perfect.clone().any(|found| found.reference.name == reference.name), "{}", reference.name);
    }
}
