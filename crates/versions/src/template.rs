//! What a match rule says about the service: fields with `$1`-style references to the pattern's
//! groups, and Nmap's helpers `$P(n)` (printable bytes only), `$SUBST(n,"from","to")` and
//! `$I(n,">")` (the group as a big- or little-endian unsigned number).

use model::ServiceDetail;
use pcre2::bytes::Captures;

/// The version fields of a rule, as written (`p/…/ v/…/ i/…/ h/…/ o/…/ d/…/ cpe:/…/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    pub product: Option<String>,
    pub version: Option<String>,
    pub info: Option<String>,
    pub hostname: Option<String>,
    pub os_type: Option<String>,
    pub device_type: Option<String>,
    /// Without the "cpe:/" prefix: "a:openbsd:openssh:$1".
    pub cpe: Vec<String>,
}

impl Template {
    /// Fills the fields from a match. A field whose reference cannot be filled (a group that did
    /// not take part) is left out, as Nmap leaves it.
    pub fn render(&self, captures: &Captures<'_>) -> ServiceDetail {
        let fill = |field: &Option<String>| field.as_deref().and_then(|text| substitute(text, captures));
        ServiceDetail {
            product: fill(&self.product),
            version: fill(&self.version),
            extra_info: fill(&self.info),
            hostname: fill(&self.hostname),
            os_type: fill(&self.os_type),
            device_type: fill(&self.device_type),
            cpe: self.cpe.iter().filter_map(|cpe| substitute(cpe, captures)).map(|cpe| format!("cpe:/{cpe}")).collect(),
            ..ServiceDetail::default()
        }
    }

    /// Parses the fields after a pattern: each a letter (or "cpe:"), a delimiter, the text up to
    /// the same delimiter again, and flag letters that Nmap ignores for display (`cpe:/…/a`).
    pub fn parse(mut text: &str) -> Result<Template, String> {
        let mut template = Template::default();
        loop {
            text = text.trim_start();
            if text.is_empty() {
                return Ok(template);
            }
            let (key, rest) = match text.strip_prefix("cpe:") {
                Some(rest) => ("cpe", rest),
                None => text.split_at(text.chars().next().map_or(0, char::len_utf8)),
            };
            let (value, rest) = delimited(rest).ok_or_else(|| format!("unterminated {key} field"))?;
            text = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            let value = Some(value.to_string());
            match key {
                "p" => template.product = value,
                "v" => template.version = value,
                "i" => template.info = value,
                "h" => template.hostname = value,
                "o" => template.os_type = value,
                "d" => template.device_type = value,
                "cpe" => template.cpe.extend(value),
                other => return Err(format!("unknown field {other:?}")),
            }
        }
    }
}

/// Splits "/text/rest" at its delimiter (the first character): ("text", "rest").
pub fn delimited(text: &str) -> Option<(&str, &str)> {
    let delimiter = text.chars().next()?;
    let body = &text[delimiter.len_utf8()..];
    let end = body.find(delimiter)?;
    Some((&body[..end], &body[end + delimiter.len_utf8()..]))
}

/// `text` with every `$n` and helper replaced from the match; `None` if one cannot be.
fn substitute(text: &str, captures: &Captures<'_>) -> Option<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.extend_from_slice(&rest.as_bytes()[..dollar]);
        let (value, after) = expand(&rest[dollar + 1..], captures)?;
        out.extend_from_slice(&value);
        rest = after;
    }
    out.extend_from_slice(rest.as_bytes());
    Some(printable(&out))
}

/// One reference after its `$`: its bytes, and the text after it.
fn expand<'t>(text: &'t str, captures: &Captures<'_>) -> Option<(Vec<u8>, &'t str)> {
    if let Some(digit) = text.chars().next().filter(char::is_ascii_digit) {
        return Some((group(captures, digit.to_digit(10)?)?.to_vec(), &text[1..]));
    }
    let open = text.find('(')?;
    let close = text.find(')')?;
    let (command, args) = (&text[..open], split_args(&text[open + 1..close])?);
    let rest = &text[close + 1..];
    let number = |arg: &Arg| match arg {
        Arg::Number(n) => group(captures, *n),
        Arg::Text(_) => None,
    };
    let value = match (command, args.as_slice()) {
        ("P", [n]) => number(n)?.iter().copied().filter(|&b| (0x20..0x7f).contains(&b)).collect(),
        ("SUBST", [n, Arg::Text(from), Arg::Text(to)]) => replace(number(n)?, from.as_bytes(), to.as_bytes()),
        ("I", [n, Arg::Text(order)]) => unpack(number(n)?, order)?.to_string().into_bytes(),
        _ => return None,
    };
    Some((value, rest))
}

enum Arg {
    Number(u32),
    Text(String),
}

/// `1,"a","b"` → [1, "a", "b"]. A quoted string may hold commas.
fn split_args(text: &str) -> Option<Vec<Arg>> {
    let mut args = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            args.push(Arg::Text(quoted[..end].to_string()));
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            args.push(Arg::Number(rest[..end].trim().parse().ok()?));
            rest = &rest[end..];
        }
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(args)
}

/// Group `n` (1 to 9) of the match, if it took part.
fn group<'s>(captures: &Captures<'s>, n: u32) -> Option<&'s [u8]> {
    if !(1..=9).contains(&n) {
        return None;
    }
    captures.get(n as usize).map(|m| m.as_bytes())
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The group's bytes as an unsigned number: ">" big-endian, "<" little-endian, at most 8 bytes.
fn unpack(bytes: &[u8], order: &str) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    let fold = |bytes: &mut dyn Iterator<Item = &u8>| bytes.fold(0u64, |n, &b| n << 8 | u64::from(b));
    match order {
        ">" => Some(fold(&mut bytes.iter())),
        "<" => Some(fold(&mut bytes.iter().rev())),
        _ => None,
    }
}

/// Bytes as text for a report: UTF-8 where it is, control characters left out.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::compile_pattern;

    fn render(pattern: &str, template: &str, response: &[u8]) -> ServiceDetail {
        let regex = compile_pattern(pattern, "").unwrap();
        let captures = regex.captures(response).unwrap().expect("the pattern matches");
        Template::parse(template).unwrap().render(&captures)
    }

    #[test]
    fn groups_fill_the_fields_and_cpe_gets_its_prefix() {
        let detail = render(
            r"^SSH-([\d.]+)-OpenSSH_([\w.]+) Debian-(\S+)",
            "p/OpenSSH/ v/$2 Debian $3/ i/protocol $1/ o/Linux/ cpe:/a:openbsd:openssh:$2/ cpe:/o:linux:linux_kernel/a",
            b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        );
        assert_eq!(detail.product.as_deref(), Some("OpenSSH"));
        assert_eq!(detail.version.as_deref(), Some("9.2p1 Debian 2+deb12u3"));
        assert_eq!(detail.extra_info.as_deref(), Some("protocol 2.0"));
        assert_eq!(detail.os_type.as_deref(), Some("Linux"));
        assert_eq!(detail.cpe, ["cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"]);
    }

    #[test]
    fn helpers_filter_replace_and_unpack() {
        let detail = render(
            r"^(..)(\d+_\d+)(.+)",
            r#"p/$P(3)/ v/$SUBST(2,"_",".")/ i/$I(1,">") $I(1,"<")/"#,
            b"\x01\x029_6 W\x00O\x00R\x00K",
        );
        assert_eq!(detail.product.as_deref(), Some(" WORK"));
        assert_eq!(detail.version.as_deref(), Some("9.6"));
        assert_eq!(detail.extra_info.as_deref(), Some("258 513"));
    }

    #[test]
    fn a_group_that_took_no_part_leaves_its_field_out() {
        let detail = render(r"^220 (?:(\S+) )?FTP", "p/vsftpd/ h/$1/", b"220 FTP ready");
        assert_eq!(detail.product.as_deref(), Some("vsftpd"));
        assert_eq!(detail.hostname, None);
    }

    #[test]
    fn fields_may_use_any_delimiter_and_an_unterminated_one_is_an_error() {
        let template = Template::parse("p|a/b| v=1.0= cpe:|a:x:y|").unwrap();
        assert_eq!(template.product.as_deref(), Some("a/b"));
        assert_eq!(template.version.as_deref(), Some("1.0"));
        assert_eq!(template.cpe, ["a:x:y"]);
        assert!(Template::parse("p/open").is_err());
        assert!(Template::parse("z/x/").is_err());
    }
}
