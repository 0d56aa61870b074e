//! `--iflist`: this host's interfaces and routes, laid out as Nmap lays them out.

use netio::{InterfaceAddress, InterfaceKind, RouteEntry};

use crate::error::RunError;

/// Prints the interfaces and routes.
pub(crate) fn print() -> Result<(), RunError> {
    let failed = |error: std::io::Error| RunError::Failed(format!("cannot list interfaces and routes: {error}"));
    let interfaces = netio::interface_addresses().map_err(failed)?;
    let mut routes = netio::route_table().map_err(failed)?;
    // Nmap's order: IPv4 first, then the longest prefixes, then the lowest metrics.
    routes.sort_by_key(|route| (route.dst.is_ipv6(), std::cmp::Reverse(route.prefix_len), route.metric));
    let at = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z");
    println!("Starting portolan {} at {at}", env!("CARGO_PKG_VERSION"));
    print!("{}", listing(&interfaces, &routes));
    Ok(())
}

/// The two tables, each column as wide as its widest cell.
fn listing(interfaces: &[InterfaceAddress], routes: &[RouteEntry]) -> String {
    let interface_rows = interfaces.iter().map(|interface| {
        let kind = match interface.kind {
            InterfaceKind::Loopback => "loopback",
            InterfaceKind::Ethernet => "ethernet",
            InterfaceKind::Other => "other",
        };
        let mac = interface.mac.map(|mac| mac.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"));
        vec![
            interface.name.clone(),
            format!("({})", interface.name),
            format!("{}/{}", interface.addr, interface.prefix_len),
            kind.to_string(),
            if interface.up { "up" } else { "down" }.to_string(),
            interface.mtu.map(|mtu| mtu.to_string()).unwrap_or_default(),
            mac.unwrap_or_default(),
        ]
    });
    let route_rows = routes.iter().map(|route| {
        vec![
            format!("{}/{}", route.dst, route.prefix_len),
            route.device.clone(),
            route.metric.to_string(),
            route.gateway.map(|gateway| gateway.to_string()).unwrap_or_default(),
        ]
    });
    let mut text = String::from("************************INTERFACES************************\n");
    text += &table(&["DEV", "(SHORT)", "IP/MASK", "TYPE", "UP", "MTU", "MAC"], interface_rows.collect());
    text += "\n**************************ROUTES**************************\n";
    text += &table(&["DST/MASK", "DEV", "METRIC", "GATEWAY"], route_rows.collect());
    text + "\n"
}

/// Rows under a header, columns padded to their widest cell and one space apart, lines
/// without trailing spaces.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|column| rows.iter().map(|row| row[column].len()).chain([header[column].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, &width)| format!("{cell:<width$}")).collect();
        padded.join(" ").trim_end().to_string() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text += &line(row.iter().map(String::as_str).collect());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_and_routes_line_up_as_nmaps_do() {
        let interfaces = [InterfaceAddress {
            name: "scan0".into(),
            addr: "198.18.0.1".parse().unwrap(),
            prefix_len: 24,
            kind: InterfaceKind::Ethernet,
            up: true,
            mtu: Some(1500),
            mac: Some([2, 0x99, 0xfe, 0xb2, 0xdc, 0x53]),
        }];
        let routes = [RouteEntry {
            dst: "198.18.0.0".parse().unwrap(),
            prefix_len: 24,
            device: "scan0".into(),
            metric: 0,
            gateway: None,
        }];
        assert_eq!(
            listing(&interfaces, &routes),
            "************************INTERFACES************************\n\
             DEV   (SHORT) IP/MASK       TYPE     UP MTU  MAC\n\
             scan0 (scan0) 198.18.0.1/24 ethernet up 1500 02:99:FE:B2:DC:53\n\
             \n**************************ROUTES**************************\n\
             DST/MASK      DEV   METRIC GATEWAY\n\
             198.18.0.0/24 scan0 0\n\n"
        );
    }
}
