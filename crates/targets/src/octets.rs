use std::net::{IpAddr, Ipv4Addr};

/// Nmap's octet-range notation: `192.168.0-255.1-254`, `10.0.0.*`, `10.1,3.0.5-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OctetRanges {
    /// The allowed values of each octet, ascending and distinct; never empty.
    octets: [Vec<u8>; 4],
}

impl OctetRanges {
    /// Parses four dot-separated octet specs. Each is `*`, a number, or a range `a-b` where
    /// either end may be left out, or a comma list of those.
    pub fn parse(text: &str) -> Result<OctetRanges, &'static str> {
        let parts: Vec<&str> = text.split('.').collect();
        let [a, b, c, d] = parts.as_slice() else {
            return Err("an IPv4 range needs four octets");
        };
        Ok(OctetRanges { octets: [parse_octet(a)?, parse_octet(b)?, parse_octet(c)?, parse_octet(d)?] })
    }

    pub fn len(&self) -> u128 {
        self.octets.iter().map(|o| o.len() as u128).product()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let IpAddr::V4(addr) = addr else { return false };
        addr.octets().iter().zip(&self.octets).all(|(value, allowed)| allowed.binary_search(value).is_ok())
    }

    /// Every address in ascending order, produced lazily.
    pub fn addrs(&self) -> OctetAddrs {
        OctetAddrs { octets: self.octets.clone(), next: Some([0; 4]) }
    }
}

/// An odometer over the four octets' allowed values; owns its ranges so it can outlive them.
#[derive(Debug, Clone)]
pub struct OctetAddrs {
    octets: [Vec<u8>; 4],
    /// Index into each octet's values of the next address; `None` once every address is out.
    next: Option<[usize; 4]>,
}

impl Iterator for OctetAddrs {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        let index = self.next?;
        let value = |i: usize| self.octets[i][index[i]];
        let addr = IpAddr::V4(Ipv4Addr::new(value(0), value(1), value(2), value(3)));
        self.next = self.advance(index);
        Some(addr)
    }
}

impl OctetAddrs {
    fn advance(&self, mut index: [usize; 4]) -> Option<[usize; 4]> {
        for position in (0..4).rev() {
            index[position] += 1;
            if index[position] < self.octets[position].len() {
                return Some(index);
            }
            index[position] = 0;
        }
        None
    }
}

fn parse_octet(spec: &str) -> Result<Vec<u8>, &'static str> {
    let mut allowed = [false; 256];
    for item in spec.split(',') {
        let (low, high) = parse_octet_item(item)?;
        allowed[usize::from(low)..=usize::from(high)].fill(true);
    }
    Ok((0..=255u8).filter(|&v| allowed[usize::from(v)]).collect())
}

fn parse_octet_item(item: &str) -> Result<(u8, u8), &'static str> {
    if item == "*" {
        return Ok((0, 255));
    }
    let (low, high) = match item.split_once('-') {
        Some((low, high)) => (parse_bound(low, 0)?, parse_bound(high, 255)?),
        None if item.is_empty() => return Err("empty octet"),
        None => {
            let value = parse_bound(item, 0)?;
            (value, value)
        }
    };
    if low > high {
        return Err("octet range runs backwards");
    }
    Ok((low, high))
}

/// One end of an octet range; an empty end means the extreme `open_value`.
fn parse_bound(text: &str, open_value: u8) -> Result<u8, &'static str> {
    if text.is_empty() {
        return Ok(open_value);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("octets are numbers from 0 to 255");
    }
    text.parse().map_err(|_| "octets are numbers from 0 to 255")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(spec: &str) -> Vec<String> {
        OctetRanges::parse(spec).unwrap().addrs().map(|a| a.to_string()).collect()
    }

    #[test]
    fn ranges_lists_and_wildcards() {
        assert_eq!(addrs("10.0.0.1-3"), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert_eq!(addrs("10.0.1,3.7"), ["10.0.1.7", "10.0.3.7"]);
        assert_eq!(
            addrs("10.0.0.250-"),
            ["10.0.0.250", "10.0.0.251", "10.0.0.252", "10.0.0.253", "10.0.0.254", "10.0.0.255"]
        );
        assert_eq!(addrs("10.0.0.-1"), ["10.0.0.0", "10.0.0.1"]);
        assert_eq!(OctetRanges::parse("192.168.1.*").unwrap().len(), 256);
        assert_eq!(OctetRanges::parse("10.0-255.1-254.-").unwrap().len(), 256 * 254 * 256);
    }

    #[test]
    fn overlapping_items_are_counted_once() {
        assert_eq!(addrs("10.0.0.1-2,2,1"), ["10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn bad_octets_are_errors() {
        for bad in
            ["10.0.0", "10.0.0.0.0", "10.0.0.256", "10.0.0.5-1", "10.0.0.", "10.0.0.a", "10.0.0.1,,2", "10.0.0.+1"]
        {
            assert!(OctetRanges::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn contains_checks_every_octet() {
        let r = OctetRanges::parse("10.0-1.0.1,5").unwrap();
        assert!(r.contains("10.1.0.5".parse().unwrap()));
        assert!(!r.contains("10.2.0.5".parse().unwrap()));
        assert!(!r.contains("10.1.0.4".parse().unwrap()));
    }
}
