//! nmap-os-db, read at run time from Nmap's installation (never copied into this repository):
//! the points each test attribute is worth (`MatchPoints`), then one reference fingerprint per
//! `Fingerprint` line, with its `Class` and `CPE` lines and one line per test:
//! `T1(R=Y%DF=Y%T=3B-45%…)`.

use std::collections::BTreeMap;

/// One test and its attributes in order: ("SEQ", [("SP", "0-5"), …]).
pub type Test = (String, Vec<(String, String)>);

/// The tests of a fingerprint.
pub type Tests = Vec<Test>;

/// The whole database.
#[derive(Debug, Default)]
pub struct OsDb {
    /// Per test, per attribute, the points a match is worth; tests in the file's order.
    pub points: Vec<(String, BTreeMap<String, u32>)>,
    pub references: Vec<Reference>,
    /// Where each reference keeps each scored attribute, found once (see the matcher).
    pub(crate) slots: std::sync::OnceLock<crate::matcher::Slots>,
}

/// One known system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// "Linux 5.0 - 5.14"
    pub name: String,
    pub classes: Vec<OsClass>,
    /// The attribute values as expressions ("3B-45", "M[>500]ST11W[1-5]").
    pub tests: Tests,
    /// The line of its `Fingerprint` in the file.
    pub line: usize,
}

/// A `Class vendor | family | generation | device type` line and the CPE names after it: the
/// model's class, which reports carry as they are.
pub use model::OsClass;

/// A line the loader could not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub problem: String,
}

/// Parses the file; lines that cannot be read are reported, and cost only themselves.
pub fn parse(text: &str) -> (OsDb, Vec<LineError>) {
    let mut db = OsDb::default();
    let mut errors = Vec::new();
    let mut in_match_points = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let result = if line == "MatchPoints" {
            in_match_points = true;
            Ok(())
        } else if let Some(name) = line.strip_prefix("Fingerprint ") {
            in_match_points = false;
            let name = name.split('#').next().unwrap_or_default().trim().to_string();
            db.references.push(Reference { name, line: number, ..Reference::default() });
            Ok(())
        } else if in_match_points {
            parse_points(line).map(|test| db.points.push(test))
        } else {
            reference_line(db.references.last_mut(), line)
        };
        if let Err(problem) = result {
            errors.push(LineError { line: number, problem });
        }
    }
    (db, errors)
}

/// A line inside a `Fingerprint` block: Class, CPE or a test.
fn reference_line(reference: Option<&mut Reference>, line: &str) -> Result<(), String> {
    let reference = reference.ok_or("a line before any Fingerprint")?;
    if let Some(class) = line.strip_prefix("Class ") {
        reference.classes.push(parse_class(class)?);
    } else if let Some(cpe) = line.strip_prefix("CPE ") {
        let class = reference.classes.last_mut().ok_or("a CPE line before any Class line")?;
        // Flags such as "auto" may follow the name.
        class.cpe.extend(cpe.split_whitespace().next().map(str::to_string));
    } else {
        reference.tests.push(parse_test(line)?);
    }
    Ok(())
}

/// "Linux | Linux | 5.X | general purpose"
fn parse_class(text: &str) -> Result<OsClass, String> {
    let fields: Vec<&str> = text.split('|').map(str::trim).collect();
    let [vendor, family, generation, device_type] = fields[..] else {
        return Err(format!("a Class line needs four fields: {text:?}"));
    };
    Ok(OsClass {
        vendor: vendor.into(),
        family: family.into(),
        generation: (!generation.is_empty()).then(|| generation.to_string()),
        device_type: device_type.into(),
        cpe: Vec::new(),
    })
}

/// "T1(R=Y%DF=Y%T=3B-45)" → ("T1", [("R", "Y"), ("DF", "Y"), ("T", "3B-45")]).
pub fn parse_test(line: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (name, rest) = line.split_once('(').ok_or_else(|| format!("not a test line: {line:?}"))?;
    let body = rest.strip_suffix(')').ok_or_else(|| format!("a test line must end with ')': {line:?}"))?;
    let mut attributes = Vec::new();
    for pair in body.split('%').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| format!("no '=' in {pair:?}"))?;
        attributes.push((key.to_string(), value.to_string()));
    }
    Ok((name.to_string(), attributes))
}

/// "SEQ(SP=25%GCD=75)" → ("SEQ", {SP: 25, GCD: 75}).
fn parse_points(line: &str) -> Result<(String, BTreeMap<String, u32>), String> {
    let (name, attributes) = parse_test(line)?;
    let points = attributes
        .into_iter()
        .map(|(key, value)| value.parse().map(|points| (key, points)).map_err(|_| format!("bad points {value:?}")))
        .collect::<Result<_, _>>()?;
    Ok((name, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# written for this test\n\
        MatchPoints\n\
        SEQ(SP=25%GCD=75)\n\
        T1(R=100%DF=20)\n\
        \n\
        Fingerprint Example OS 1.0 - 2.0 # a comment\n\
        Class Example | ExampleOS | 1.X | general purpose\n\
        CPE cpe:/o:example:exampleos:1 auto\n\
        Class Example | ExampleOS || router\n\
        SEQ(SP=0-5%GCD=1|2)\n\
        T1(R=Y%DF=)\n\
        bogus\n";

    #[test]
    fn points_references_classes_and_tests_load() {
        let (db, errors) = parse(SAMPLE);
        assert_eq!(errors, [LineError { line: 12, problem: "not a test line: \"bogus\"".into() }]);
        assert_eq!(db.points[0].0, "SEQ");
        assert_eq!(db.points[1].1["DF"], 20);
        let reference = &db.references[0];
        assert_eq!((reference.name.as_str(), reference.line), ("Example OS 1.0 - 2.0", 6));
        assert_eq!(reference.classes[0].cpe, ["cpe:/o:example:exampleos:1"]);
        assert_eq!(reference.classes[1].generation, None);
        assert_eq!(reference.classes[1].device_type, "router");
        assert_eq!(reference.tests[1], ("T1".into(), vec![("R".into(), "Y".into()), ("DF".into(), String::new())]));
    }
}
