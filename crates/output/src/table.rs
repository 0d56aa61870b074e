/// Left-aligned text columns, each as wide as its widest cell plus one space; no line carries
/// trailing blanks (the last column is not padded, and a row whose last cells are empty ends
/// where its text does).
pub fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|cell| cell.len()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (c, cell) in row.iter().enumerate() {
            if c == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$} ", width = widths[c]));
            }
        }
        text.truncate(text.trim_end_matches(' ').len());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_the_widest_cell() {
        let rows = vec![
            vec!["PORT".to_string(), "STATE".into(), "SERVICE".into()],
            vec!["22/tcp".to_string(), "open".into(), "ssh".into()],
            vec!["8080/tcp".to_string(), "filtered".into(), "http-proxy".into()],
        ];
        assert_eq!(render(&rows), "PORT     STATE    SERVICE\n22/tcp   open     ssh\n8080/tcp filtered http-proxy\n");
    }

    #[test]
    fn a_row_ending_in_empty_cells_has_no_trailing_blanks() {
        let rows = vec![vec!["PORT".to_string(), "VERSION".into()], vec!["9999/tcp".to_string(), String::new()]];
        assert_eq!(render(&rows), "PORT     VERSION\n9999/tcp\n");
    }
}
