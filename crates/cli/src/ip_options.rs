//! `--ip-options`: IPv4 options every raw probe carries, written as Nmap takes them.

use std::net::Ipv4Addr;

/// Record route (RFC 791): room for nine addresses, the most a header holds.
const RECORD_ROUTE: u8 = 7;
/// Internet timestamp (RFC 791), of timestamps alone or of addresses and timestamps.
const TIMESTAMP: u8 = 68;
const LOOSE_SOURCE_ROUTE: u8 = 131;
const STRICT_SOURCE_ROUTE: u8 = 137;
/// The option bytes an IPv4 header holds at most (a 60-byte header).
const MOST_BYTES: usize = 40;

/// The option bytes `text` asks for: `R` (record route), `T` (timestamps), `U` (addresses and
/// timestamps), `L addr...` or `S addr...` (loose or strict source route), or bytes as
/// `\xHH`, each optionally repeated with `*count` (`\x01\x07\x04\x00*36`). `None` when the
/// text is none of these, or too long for a header.
pub(crate) fn parse(text: &str) -> Option<Vec<u8>> {
    let mut words = text.split_whitespace();
    let bytes = match words.next()? {
        "R" => [vec![RECORD_ROUTE, 39, 4], vec![0; 36]].concat(),
        "T" => [vec![TIMESTAMP, 40, 5, 0], vec![0; 36]].concat(),
        "U" => [vec![TIMESTAMP, 36, 5, 1], vec![0; 32]].concat(),
        kind @ ("L" | "S") => {
            let hops: Vec<Ipv4Addr> = words.by_ref().map(str::parse).collect::<Result<_, _>>().ok()?;
            let code = if kind == "L" { LOOSE_SOURCE_ROUTE } else { STRICT_SOURCE_ROUTE };
            let len = u8::try_from(3 + 4 * hops.len()).ok().filter(|_| !hops.is_empty())?;
            [vec![code, len, 4], hops.iter().flat_map(|hop| hop.octets()).collect()].concat()
        }
        _ => hex_bytes(text)?,
    };
    (words.next().is_none() && bytes.len() <= MOST_BYTES).then_some(bytes)
}

/// `\x01\x07\x04\x00*36`: bytes, each possibly followed by `*count` copies in all.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for piece in text.split("\\x").skip(1) {
        let (byte, repeat) = match piece.split_once('*') {
            Some((byte, count)) => (byte, count.parse::<usize>().ok()?),
            None => (piece, 1),
        };
        let byte = u8::from_str_radix(byte, 16).ok().filter(|_| byte.len() == 2)?;
        bytes.extend(std::iter::repeat_n(byte, repeat));
    }
    (text.starts_with("\\x") && !bytes.is_empty()).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmaps_option_forms_give_their_bytes() {
        assert_eq!(parse("R").unwrap()[..3], [7, 39, 4]);
        assert_eq!(parse("R").unwrap().len(), 39);
        assert_eq!(parse("T").unwrap()[..4], [68, 40, 5, 0]);
        assert_eq!(parse("U").unwrap()[..4], [68, 36, 5, 1]);
        assert_eq!(parse("L 198.18.0.2 198.18.0.3"), Some(vec![131, 11, 4, 198, 18, 0, 2, 198, 18, 0, 3]));
        assert_eq!(parse("S 198.18.0.2").unwrap()[0], 137);
        assert_eq!(parse("\\x01\\x07\\x04\\x00*3"), Some(vec![1, 7, 4, 0, 0, 0]));
        for bad in ["", "X", "L", "L 198.18.0.300", "R extra", "\\x1", "\\x01*50", "01 02"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
