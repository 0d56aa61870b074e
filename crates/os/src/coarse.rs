//! portolan's own OS families (`data/os-families.txt`), for when Nmap's nmap-os-db is not
//! installed: written for portolan from each family's documented stack habits, in the same
//! format, and coarse by design (a family, never a version).

use crate::db::{parse, OsDb};

const EMBEDDED: &str = include_str!("../../../data/os-families.txt");

/// The embedded families.
pub fn embedded() -> OsDb {
    let (db, errors) = parse(EMBEDDED);
    debug_assert!(errors.is_empty(), "the embedded families parse: {errors:?}");
    db
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::best_matches;
    use crate::printed::parse_printed;

    #[test]
    fn every_line_of_the_embedded_families_parses() {
        let (db, errors) = parse(EMBEDDED);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(db.references.len(), 5);
    }

    /// The lab host's fingerprint (this kernel), as Nmap 7.93 printed it.
    const LAB_LINUX: &str = "OS:SEQ(SP=102%GCD=1%ISR=10E%TI=Z%CI=Z%II=I%TS=21)OPS(O1=M5B4ST11NWA%O2=M5B4ST11NWA%O3=M5B4NNT11NWA%O4=M5B4ST11NWA%O5=M5B4ST11NWA%O6=M5B4ST11)WIN(W1=FE88%W2=FE88%W3=FE88%W4=FE88%W5=FE88%W6=FE88)ECN(R=Y%DF=Y%T=40%W=FAF0%O=M5B4NNSNWA%CC=Y%Q=)T1(R=Y%DF=Y%T=40%S=O%A=S+%F=AS%RD=0%Q=)T2(R=N)T3(R=N)T4(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)T5(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)T6(R=Y%DF=Y%T=40%W=0%S=A%A=Z%F=R%O=%RD=0%Q=)T7(R=Y%DF=Y%T=40%W=0%S=Z%A=S+%F=AR%O=%RD=0%Q=)U1(R=Y%DF=N%T=40%IPL=164%UN=0%RIPL=G%RID=G%RIPCK=G%RUCK=G%RUD=G)IE(R=Y%DFI=N%T=40%CD=S)";

    #[test]
    fn the_lab_kernel_is_linux_exactly_and_nothing_else_comes_close() {
        let db = embedded();
        let observed = parse_printed(LAB_LINUX).unwrap();
        let found = best_matches(&db, &observed, 0.0);
        assert_eq!(found[0].reference.name, "Linux (family guess, no version)");
        assert_eq!(found[0].accuracy, 1.0);
        assert!(found[1].accuracy < 0.85, "{} at {}", found[1].reference.name, found[1].accuracy);
    }
}
