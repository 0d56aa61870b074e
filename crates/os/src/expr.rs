//! The value expressions of nmap-os-db (the Nmap book, "Fingerprint format"): alternatives
//! split by `|`; a hexadecimal number matches `>N`, `<N`, a range `A-B` or the same number
//! (leading zeros aside); any other value matches equal text; in the TCP options of the OPS
//! test and of `O` attributes, `[…]` holds an expression for the run of hex digits found there
//! ("M[>500]ST11W[1-5]").

/// Whether the observed `value` satisfies `expr`; `nested` allows `[…]` parts.
pub fn matches(value: &str, expr: &str, nested: bool) -> bool {
    if expr.is_empty() {
        return value.is_empty();
    }
    let number = hex_number(value);
    alternatives(expr).any(|alternative| {
        if nested && alternative.contains('[') {
            matches_nested(value, alternative)
        } else {
            matches_simple(value, number, alternative)
        }
    })
}

/// A value that satisfies `expr`: its first alternative; for a range, its middle; one past
/// a lower bound, one short of an upper bound; bracketed parts likewise. (Lab personalities
/// answer with such values.)
pub fn satisfying(expr: &str) -> String {
    let first = alternatives(expr).next().unwrap_or_default();
    if let Some(open) = first.find('[') {
        let Some(close) = first[open..].find(']').map(|at| open + at) else { return first.to_string() };
        let rest = &first[close + 1..];
        let rest = if rest.contains('[') { satisfying(rest) } else { rest.to_string() };
        return format!("{}{}{rest}", &first[..open], satisfying(&first[open + 1..close]));
    }
    let hex = |text: &str| u128::from_str_radix(text, 16).ok();
    if let Some(bound) = first.strip_prefix('>').and_then(hex) {
        return format!("{:X}", bound + 1);
    }
    if let Some(bound) = first.strip_prefix('<').and_then(hex) {
        return format!("{:X}", bound.saturating_sub(1));
    }
    match first.split_once('-').map(|(low, high)| (hex(low), hex(high))) {
        Some((Some(low), Some(high))) => format!("{:X}", low + (high.saturating_sub(low)) / 2),
        _ => first.to_string(),
    }
}

/// `expr` split at every `|` outside brackets (without allocating: the matcher runs this
/// some half a million times per host against Nmap's database).
fn alternatives(expr: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(expr);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut depth = 0usize;
        for (at, c) in text.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '|' if depth == 0 => {
                    rest = Some(&text[at + 1..]);
                    return Some(&text[..at]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(text)
    })
}

/// `alternative` against a value, `number` being the value read as hexadecimal, if it is.
fn matches_simple(value: &str, number: Option<u128>, alternative: &str) -> bool {
    let Some(number) = number else { return value == alternative };
    if let Some(bound) = alternative.strip_prefix('>') {
        return hex_number(bound).is_some_and(|bound| number > bound);
    }
    if let Some(bound) = alternative.strip_prefix('<') {
        return hex_number(bound).is_some_and(|bound| number < bound);
    }
    if let Some((low, high)) = alternative.split_once('-') {
        return match (hex_number(low), hex_number(high)) {
            (Some(low), Some(high)) => (low..=high).contains(&number),
            _ => false,
        };
    }
    hex_number(alternative).is_some_and(|other| other == number) || value == alternative
}

/// A run of hexadecimal digits as a number; `None` for anything else (or too long to compare).
fn hex_number(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digits = text.trim_start_matches('0');
    u128::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16).ok()
}

/// "M[>500]ST11W[1-5]": literal parts equal, each bracketed part matching the run of hex
/// digits at its place in the value.
fn matches_nested(value: &str, alternative: &str) -> bool {
    let mut rest = value;
    let mut pattern = alternative;
    while let Some(open) = pattern.find('[') {
        let Some(close) = pattern[open..].find(']').map(|at| open + at) else { return false };
        let Some(after_literal) = rest.strip_prefix(&pattern[..open]) else { return false };
        let digits = after_literal.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits == 0 || !matches(&after_literal[..digits], &pattern[open + 1..close], false) {
            return false;
        }
        rest = &after_literal[digits..];
        pattern = &pattern[close + 1..];
    }
    rest == pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_bounds_ranges_and_equal_numbers() {
        assert!(matches("40", "FA-104|40", false));
        assert!(matches("FF", "FA-104", false));
        assert!(!matches("F9", "FA-104", false));
        assert!(matches("105", ">104", false) && !matches("104", ">104", false));
        assert!(matches("0", "<1", false));
        assert!(matches("0040", "40", false), "leading zeros aside");
    }

    #[test]
    fn text_matches_itself_and_empty_matches_empty() {
        assert!(matches("AS", "AS|AR", false));
        assert!(matches("AR", "AS|AR", false));
        assert!(!matches("A", "AS", false));
        assert!(matches("", "", false));
        assert!(!matches("S", "", false));
        assert!(matches("", "Z|", false), "an empty alternative");
        assert!(matches("RD", "I|RD", false));
    }

    #[test]
    fn bracketed_parts_match_the_hex_digits_at_their_place() {
        assert!(matches("M5B4ST11W7", "M[>500]ST11W[1-7]", true));
        assert!(!matches("M5B4ST11W8", "M[>500]ST11W[1-7]", true));
        assert!(!matches("M400ST11W7", "M[>500]ST11W[1-7]", true));
        assert!(matches("M5B4NW2", "M[>500]ST11W[1-7]|M5B4NW2", true));
        assert!(!matches("M5B4ST11W7", "M[>500]ST11W[1-7]", false), "brackets are text outside options");
    }
}
