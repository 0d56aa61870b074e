//! Nmap as the oracle of the matcher: `nmap -O --osscan-guess` of a lab host (whose kernel is
//! newer than Nmap 7.93's database, so Nmap prints its fingerprint and guesses), and the same
//! guesses from our matcher given Nmap's printed fingerprint and Nmap's database.

use lab::{Lab, TARGET_V4};

/// Nmap's guesses: the best fits of at least 0.85, the first and then up to nine within 0.10
/// of it, each with its accuracy rounded down to a percentage.
fn guess_line(matches: &[os::Match<'_>]) -> String {
    let Some(first) = matches.first() else { return String::new() };
    let shown = matches.iter().take(10).take_while(|found| found.accuracy > first.accuracy - 0.10);
    let guesses: Vec<String> =
        shown.map(|found| format!("{} ({}%)", found.reference.name, (found.accuracy * 100.0).floor())).collect();
    format!("Aggressive OS guesses: {}", guesses.join(", "))
}

#[test]
fn our_guesses_from_nmaps_fingerprint_are_nmaps_guesses() {
    if !lab::available() {
        return;
    }
    let Some(db) = lab::nmap_os_db() else { return };
    let lab = Lab::new().expect("build lab");
    // OS detection wants an open and a closed port.
    let _listener = lab.listen_tcp(&[22]).expect("listener");
    let target = TARGET_V4.to_string();
    let nmap = lab.in_scanner("nmap").args(["-O", "--osscan-guess", "-n", "-Pn", "-p", "22,23", &target]).output();
    let report = String::from_utf8(nmap.expect("run nmap").stdout).expect("utf-8");
    let Some(nmaps_guesses) = report.lines().find(|line| line.starts_with("Aggressive OS guesses: ")) else {
        // An exact match (a Nmap database that knows this kernel) prints no guesses.
        assert!(report.contains("OS details:"), "{report}");
        return;
    };
    let fingerprint = os::parse_printed(&report).expect("Nmap's fingerprint reads");
    let ours = os::best_matches(&db, &fingerprint, 0.85);
    assert_eq!(guess_line(&ours), nmaps_guesses, "{report}");
}
