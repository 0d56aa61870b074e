//! End-to-end: `portolan report` of the lab's real history — two saved scans, one listener
//! added and one removed between them — opened in headless Chromium: the port table and the
//! exposure plot are drawn, the filter hides what does not match; the same report from the
//! scans' XML and JSON files; and portolan's -oX rendered by Nmap's own XSL (--stylesheet).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use lab::{file_url, Browser, Lab, TARGET_V4};

/// The open-ports line of the plot and an open cell of the timeline, as the page's stylesheet
/// colours them (#c0392b, #f5b7b1): pixels of these colours are the plot and the table drawn.
const PLOT_LINE: [u8; 3] = [0xc0, 0x39, 0x2b];
const OPEN_CELL: [u8; 3] = [0xf5, 0xb7, 0xb1];

fn with_history(mut command: Command, data: &Path) -> Output {
    command.env("XDG_DATA_HOME", data).output().expect("run portolan")
}

fn scan_and_save(lab: &Lab, data: &Path, outputs: &[&str]) {
    let target = TARGET_V4.to_string();
    let mut command = lab.in_scanner(env!("CARGO_BIN_EXE_portolan"));
    command.args(["-sS", "-n", "-Pn", "-p", "20-90", "--save"]).args(outputs).arg(&target);
    stdout(&with_history(command, data));
}

fn report(data: &Path, args: &[&str]) -> PathBuf {
    let page = data.join(format!("report-{}.html", args.len()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_portolan"));
    command.arg("report").args(args).arg("-o").arg(&page);
    stdout(&with_history(command, data));
    page
}

/// The number of pixels of exactly `colour` in a PNG.
fn pixels_of(png: &Path, colour: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    let channels = frame.color_type.samples();
    buffer[..frame.buffer_size()].chunks(channels).filter(|pixel| pixel[..3] == colour).count()
}

/// The rows of the open-ports table in a serialised DOM, each as its text and whether the
/// page's script hid it.
fn open_port_rows(dom: &str) -> Vec<(String, bool)> {
    let table = &dom[dom.find("id=\"open-ports\"").expect("the open-ports table")..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let (attributes, cells) = row.split_once('>').expect("a row's start tag ends");
            (text_of(cells), attributes.contains("hidden"))
        })
        .collect()
}

/// The text of some HTML: tags removed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

/// The "What changed" section of a page.
fn changes(page: &str) -> String {
    let start = page.find("<h2>What changed</h2>").expect("a What changed section");
    let end = page.find("<h2>Timeline").expect("a timeline");
    page[start..end].to_string()
}

#[test]
fn report_of_lab_history_draws_and_filters_in_a_browser() {
    if !lab::available() {
        return;
    }
    let Some(browser) = Browser::find() else { return };
    let dir = std::env::temp_dir().join(format!("portolan-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lab = Lab::new().unwrap();
    let (first_xml, second_json) = (dir.join("first.xml"), dir.join("second.json"));

    let before = lab.listen_tcp(&[22, 80]).unwrap();
    scan_and_save(&lab, &dir, &["-oX", first_xml.to_str().unwrap()]);
    drop(before);
    let _after = lab.listen_tcp(&[22, 53]).unwrap();
    scan_and_save(&lab, &dir, &["-oJ", second_json.to_str().unwrap()]);

    let saved = report(&dir, &[]);
    let page = std::fs::read_to_string(&saved).unwrap();
    let target = TARGET_V4;
    let (ssh, http, domain) = (service_name(22), service_name(80), service_name(53));
    assert!(page.contains(&format!("<ul class=\"opened\"><li>{target} 53/tcp {domain}</li></ul>")), "{page}");
    assert!(page.contains(&format!("<ul class=\"closed\"><li>{target} 80/tcp {http}</li></ul>")), "{page}");
    assert!(page.contains("<h3>#1 → #2</h3>"));
    let files = report(&dir, &[first_xml.to_str().unwrap(), second_json.to_str().unwrap()]);
    let from_files = std::fs::read_to_string(&files).unwrap();
    assert_eq!(
        changes(&from_files).replace("first.xml", "#1").replace("second.json", "#2"),
        changes(&page),
        "the files tell what the history tells"
    );

    // Drawn: the plot's line and the timeline's open cells are on the screen.
    let screenshot = dir.join("report.png");
    browser.screenshot(&file_url(&saved), &screenshot, 1100, 1400).unwrap();
    let (line, cells) = (pixels_of(&screenshot, PLOT_LINE), pixels_of(&screenshot, OPEN_CELL));
    assert!(line > 600, "the exposure line is drawn across the plot: {line} pixels");
    assert!(cells > 1000, "the timeline's open cells are drawn: {cells} pixels");

    // The table as the browser holds it, unfiltered and filtered from the page's address.
    let dom = browser.dom(&file_url(&saved), false).unwrap();
    let rows = open_port_rows(&dom);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|(_, hidden)| !hidden));
    assert!(rows[0].0.contains(&format!("22/tcp{ssh}")) && rows[1].0.contains(&format!("53/tcp{domain}")), "{rows:?}");
    let filtered = browser.dom(&format!("{}#filter={domain}", file_url(&saved)), false).unwrap();
    let filtered_rows = open_port_rows(&filtered);
    let shown: Vec<&String> = filtered_rows.iter().filter(|(_, hidden)| !hidden).map(|(text, _)| text).collect();
    assert_eq!(shown.len(), 1, "the filter leaves the one matching row: {filtered_rows:?}");
    assert!(shown[0].contains("53/tcp"), "{shown:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nmaps_xsl_renders_portolans_xml_in_a_browser() {
    if !lab::available() {
        return;
    }
    let Some(browser) = Browser::find() else { return };
    let xsl = Path::new("/usr/share/nmap/nmap.xsl");
    if !xsl.exists() {
        assert!(std::env::var_os("CI").is_none(), "scripts/test installs nmap, whose XSL this test renders");
        eprintln!("skipping: Nmap's XSL is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("portolan-xsl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lab = standard_lab();
    let xml = dir.join("styled.xml");
    let target = TARGET_V4.to_string();
    let ran = portolan(
        &lab.lab,
        &[
            "-sS",
            "-n",
            "-Pn",
            "-p",
            "20-90",
            "--stylesheet",
            xsl.to_str().unwrap(),
            "-oX",
            xml.to_str().unwrap(),
            &target,
        ],
    );
    stdout(&ran);
    let dom = browser.dom(&file_url(&xml), true).unwrap();
    let flat: String = dom.split('\n').map(str::trim).collect();
    assert!(flat.contains(&format!("<table id=\"porttable_{target}\"")), "Nmap's XSL drew the port table: {dom}");
    for port in [22, 80] {
        let row =
            format!("<td>{port}</td><td>tcp</td><td>open</td><td>{}&nbsp;</td><td>syn-ack</td>", service_name(port));
        assert!(flat.contains(&row), "{row} in {flat}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
