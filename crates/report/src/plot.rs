//! The exposure plot: open ports and exposed hosts per scan, drawn as an SVG the page carries
//! inline (no script needed to see it).

use std::fmt::Write;

use crate::html::escape;
use crate::model::Exposure;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// A line of the plot: what it counts, the class its line and points carry (the page's
/// stylesheet gives each its colour), and its value in one scan.
struct Series {
    name: &'static str,
    class: &'static str,
    value: fn(&Exposure) -> usize,
}

/// Where the two lines coincide (one open port per exposed host), the hosts' wider line,
/// drawn first, stays visible around the ports' line.
const SERIES: [Series; 2] = [
    Series { name: "hosts with an open port", class: "exposed-hosts", value: |e| e.exposed_hosts },
    Series { name: "open ports", class: "open-ports", value: |e| e.open_ports },
];

/// The plot of `exposure`, one point per scan, labelled with `labels`.
pub fn exposure_svg(exposure: &[Exposure], labels: &[String]) -> String {
    let highest = exposure.iter().map(|e| e.open_ports.max(e.exposed_hosts)).max().unwrap_or(0);
    let top = nice_ceiling(highest);
    let x = |index: usize| match exposure.len() {
        1 => LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        n => LEFT + (WIDTH - LEFT - RIGHT) * index as f64 / (n - 1) as f64,
    };
    let y = |value: usize| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value as f64 / top as f64);

    let mut svg = format!(
        "<svg id=\"exposure\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" \
         aria-label=\"Open ports and exposed hosts per scan\">\n"
    );
    for tick in ticks(top) {
        let at = y(tick);
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{at:.1}\" y2=\"{at:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0
        );
    }
    for (index, label) in labels.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(index),
            HEIGHT - BOTTOM + 18.0,
            escape(label)
        );
    }
    for Series { name, class, value } in SERIES {
        let points: Vec<String> =
            exposure.iter().enumerate().map(|(i, e)| format!("{:.1},{:.1}", x(i), y(value(e)))).collect();
        let _ = writeln!(svg, "<polyline class=\"series {class}\" points=\"{}\"/>", points.join(" "));
        for (i, e) in exposure.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<circle class=\"point {class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"><title>{}: {} {name}</title></circle>",
                x(i),
                y(value(e)),
                escape(&labels[i]),
                value(e)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The smallest of 1, 2, 5 times a power of ten at or above `value` (at least 1), so the
/// y axis ends on a round number.
fn nice_ceiling(value: usize) -> usize {
    let mut step = 1;
    loop {
        for factor in [1, 2, 5] {
            if factor * step >= value.max(1) {
                return factor * step;
            }
        }
        step *= 10;
    }
}

/// Up to five evenly spaced whole-number ticks from 0 to `top`.
fn ticks(top: usize) -> Vec<usize> {
    let spacing = (top / 4).max(1);
    (0..=top).step_by(spacing).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_on_a_round_number() {
        let tops: Vec<usize> = [0, 1, 3, 7, 10, 11, 180, 999].into_iter().map(nice_ceiling).collect();
        assert_eq!(tops, [1, 1, 5, 10, 10, 20, 200, 1000]);
        assert_eq!(ticks(20), [0, 5, 10, 15, 20]);
        assert_eq!(ticks(2), [0, 1, 2]);
    }

    #[test]
    fn one_point_per_scan_on_each_line() {
        let exposure = [
            Exposure { open_ports: 2, exposed_hosts: 1, hosts_up: 1 },
            Exposure { open_ports: 4, exposed_hosts: 2, hosts_up: 3 },
        ];
        let svg = exposure_svg(&exposure, &["#1 <a>".into(), "#2".into()]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle class=\"point open-ports\"").count(), 2);
        assert!(svg.contains("#1 &lt;a&gt;: 2 open ports"));
        // 4 open ports is the top of a 0..5 axis: y = TOP + (HEIGHT - TOP - BOTTOM) / 5.
        assert!(svg.contains(&format!("{:.1},{:.1}", WIDTH - RIGHT, TOP + (HEIGHT - TOP - BOTTOM) / 5.0)));
    }
}
