//! The IP ID attributes of the SEQ test (Nmap's get_ipid_sequence_16 and make_aval_ipid_seq):
//! how a host numbers the IP packets it sends, from its replies to the SYNs to an open port
//! (TI), to a closed one (CI), and to the ICMP echoes (II); SS, whether TCP and ICMP share one
//! counter.

/// How a host's IP IDs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpIdClass {
    /// All zero.
    Zero,
    /// A jump over 20000 between two of three or more: random.
    Random,
    /// The same every time (its value).
    Constant(u16),
    /// Jumps over 1000 (not whole multiples of 256 under 25600).
    RandomPositive,
    /// Steps that are multiples of 256 up to 5120: a little-endian counter read big-endian.
    BrokenIncrement,
    /// Steps that are all even.
    IncrementByTwo,
    /// Steps under 10.
    Increment,
    Unknown,
}

impl IpIdClass {
    /// Classifies IDs as they came, in order.
    pub fn of(ids: &[u16]) -> IpIdClass {
        if ids.len() < 2 {
            return IpIdClass::Unknown;
        }
        let raw: Vec<u32> = ids.windows(2).map(|pair| u32::from(pair[1]).wrapping_sub(u32::from(pair[0]))).collect();
        if ids.len() > 2 && raw.iter().any(|&diff| diff > 20_000) {
            return IpIdClass::Random;
        }
        if ids.iter().all(|&id| id == 0) {
            return IpIdClass::Zero;
        }
        // A 16-bit counter that wrapped is still a sequence.
        let diffs: Vec<u32> = raw.iter().map(|diff| diff & 0xffff).collect();
        if diffs.iter().all(|&diff| diff == 0) {
            return IpIdClass::Constant(ids[0]);
        }
        if diffs.iter().any(|&diff| diff > 1000 && (diff % 256 != 0 || diff >= 25_600)) {
            return IpIdClass::RandomPositive;
        }
        if diffs.iter().all(|&diff| diff <= 5120 && diff % 256 == 0) {
            return IpIdClass::BrokenIncrement;
        }
        if diffs.iter().all(|&diff| diff % 2 == 0) {
            return IpIdClass::IncrementByTwo;
        }
        if diffs.iter().all(|&diff| diff <= 9) {
            return IpIdClass::Increment;
        }
        IpIdClass::Unknown
    }

    /// The attribute's value (TI, CI, II); `None` leaves the attribute out.
    pub fn value(self) -> Option<String> {
        Some(match self {
            IpIdClass::Zero => "Z".into(),
            IpIdClass::Random => "RD".into(),
            IpIdClass::Constant(id) => format!("{id:X}"),
            IpIdClass::RandomPositive => "RI".into(),
            IpIdClass::BrokenIncrement => "BI".into(),
            IpIdClass::IncrementByTwo | IpIdClass::Increment => "I".into(),
            IpIdClass::Unknown => return None,
        })
    }

    /// Counts toward SS, the shared-sequence test.
    fn increments(self) -> bool {
        matches!(self, IpIdClass::Increment | IpIdClass::BrokenIncrement | IpIdClass::RandomPositive)
    }
}

/// TI (from at least three replies), CI and II (from at least two each), and SS when both the
/// TCP and the ICMP IDs increase: "S" if the first ICMP ID comes within three average TCP steps
/// of the last TCP one, else "O".
pub fn ipid_attributes(open_tcp: &[u16], closed_tcp: &[u16], icmp: &[u16]) -> Vec<(String, String)> {
    let class = |ids: &[u16], least: usize| if ids.len() >= least { IpIdClass::of(ids) } else { IpIdClass::Unknown };
    let (tcp_class, icmp_class) = (class(open_tcp, 3), class(icmp, 2));
    let mut attributes: Vec<(String, String)> = [("TI", tcp_class), ("CI", class(closed_tcp, 2)), ("II", icmp_class)]
        .into_iter()
        .filter_map(|(key, class)| Some((key.to_string(), class.value()?)))
        .collect();
    if tcp_class.increments() && icmp_class.increments() {
        let (first, last) = (u32::from(open_tcp[0]), u32::from(open_tcp[open_tcp.len() - 1]));
        let step = last.wrapping_sub(first) / (open_tcp.len() as u32 - 1);
        let shared = u32::from(icmp[0]) < last.wrapping_add(step.wrapping_mul(3));
        attributes.push(("SS".into(), if shared { "S" } else { "O" }.into()));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_is_told_from_its_steps() {
        assert_eq!(IpIdClass::of(&[0, 0, 0]), IpIdClass::Zero);
        assert_eq!(IpIdClass::of(&[100, 30_000, 5]), IpIdClass::Random);
        assert_eq!(IpIdClass::of(&[7, 7, 7]), IpIdClass::Constant(7));
        assert_eq!(IpIdClass::of(&[100, 1200, 2500]), IpIdClass::RandomPositive);
        assert_eq!(IpIdClass::of(&[256, 512, 1024]), IpIdClass::BrokenIncrement);
        assert_eq!(IpIdClass::of(&[10, 12, 20]), IpIdClass::IncrementByTwo);
        assert_eq!(IpIdClass::of(&[10, 11, 13]), IpIdClass::Increment);
        assert_eq!(IpIdClass::of(&[10, 11, 500]), IpIdClass::Unknown);
        assert_eq!(IpIdClass::of(&[65_535, 0, 1]), IpIdClass::Random, "a wrap reads as a huge jump first");
        assert_eq!(IpIdClass::of(&[65_535, 0]), IpIdClass::Increment, "two samples: the wrap is masked");
    }

    #[test]
    fn linux_zero_ids_and_an_incrementing_icmp_counter_read_as_nmap_printed_them() {
        // The lab host as Nmap printed it: TI=Z CI=Z II=I, no SS.
        let line = ipid_attributes(&[0; 6], &[0, 0], &[4321, 4322]);
        assert_eq!(line, [("TI".into(), "Z".into()), ("CI".into(), "Z".into()), ("II".into(), "I".into())]);
    }

    #[test]
    fn one_shared_counter_is_ss_s_and_two_are_ss_o() {
        let tcp = [100, 101, 102, 103, 104, 105];
        // Within three steps (of 1) after the last TCP ID, 105: under 108.
        assert_eq!(ipid_attributes(&tcp, &[110, 111], &[107, 108]).last().unwrap().1, "S");
        assert_eq!(ipid_attributes(&tcp, &[110, 111], &[108, 109]).last().unwrap().1, "O");
        assert_eq!(ipid_attributes(&tcp, &[106, 107], &[9000, 9001]).last().unwrap().1, "O");
        assert_eq!(ipid_attributes(&tcp[..2], &[], &[]), [], "too few replies say nothing");
    }
}
