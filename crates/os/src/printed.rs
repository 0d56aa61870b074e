//! A fingerprint as Nmap prints it for a host it could not match: lines of at most 71
//! characters, each after "OS:", which joined read `SCAN(…)SEQ(…)OPS(…)…`.

use crate::db::{parse_test, Tests};

/// The tests of a printed fingerprint (SCAN, Nmap's notes on the scan, left out).
pub fn parse_printed(text: &str) -> Result<Tests, String> {
    let joined: String = text.lines().filter_map(|line| line.trim().strip_prefix("OS:")).collect();
    let mut tests = Vec::new();
    let mut rest = joined.as_str();
    while !rest.is_empty() {
        let end = rest.find(')').ok_or_else(|| format!("unterminated test: {rest:?}"))?;
        let (name, attributes) = parse_test(&rest[..=end])?;
        if name != "SCAN" {
            tests.push((name, attributes));
        }
        rest = &rest[end + 1..];
    }
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_join_into_tests() {
        let text = "OS:SCAN(V=7.93%E=4)SEQ(SP=102%GCD=1%ISR=10E%TI=Z%CI=Z%II=\nOS:I%TS=21)T2(R=N)U\nOS:1(R=Y%DF=N)\n";
        let tests = parse_printed(text).unwrap();
        let names: Vec<&str> = tests.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["SEQ", "T2", "U1"]);
        assert_eq!(tests[0].1[5], ("II".to_string(), "I".to_string()));
        assert!(parse_printed("OS:SEQ(SP=1").is_err());
    }
}
