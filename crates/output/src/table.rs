/// Left-aligned text columns, each as wide as its widest cell plus one space; the last column
/// is not padded, so lines carry no trailing blanks.
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
}
