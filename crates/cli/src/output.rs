//! What the CLI prints: aligned tables and short texts for people, the API's JSON for scripts.
//! Everything for stdout goes through [`outln!`], so a closed pipe (`wafer … | head`) ends the
//! command quietly instead of panicking.

use std::io::Write as _;

use reqwest::Url;
use serde_json::Value;

/// `writeln!` to stdout, returning the write error to the caller.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}
pub(crate) use outln;

/// Pretty JSON on stdout.
pub fn json(value: &Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    outln!("{text}");
    Ok(())
}

/// Raw text on stdout, with a final newline added only for a person at a terminal.
pub fn raw(text: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    if stdout.is_terminal() && !text.is_empty() && !text.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

/// Columns aligned on the widest cell, two spaces apart.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Per column, the most characters a cell shows (longer ones end in `…`).
    limits: Vec<Option<usize>>,
}

impl Table {
    pub fn new<const N: usize>(headers: [&str; N]) -> Self {
        Self {
            headers: headers.iter().map(|header| (*header).to_owned()).collect(),
            rows: Vec::new(),
            limits: vec![None; N],
        }
    }

    /// Cuts the cells of `column` to `max` characters.
    pub fn limit(mut self, column: usize, max: usize) -> Self {
        if let Some(limit) = self.limits.get_mut(column) {
            *limit = Some(max.max(1));
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .enumerate()
            .map(
                |(column, cell)| match self.limits.get(column).copied().flatten() {
                    Some(max) if cell.chars().count() > max => {
                        let mut cut: String = cell.chars().take(max - 1).collect();
                        cut.push('…');
                        cut
                    }
                    _ => cell,
                },
            )
            .collect();
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let width = |column: usize| {
            std::iter::once(&self.headers)
                .chain(&self.rows)
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.headers.len()).map(width).collect();
        let mut text = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            text.push_str(cells.join("  ").trim_end());
            text.push('\n');
        }
        text
    }

    /// Prints the table, or `empty` when it has no rows.
    pub fn print(&self, empty: &str) -> anyhow::Result<()> {
        if self.is_empty() {
            outln!("{empty}");
        } else {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(self.render().as_bytes())?;
        }
        Ok(())
    }
}

/// Aligned `label: value` lines.
pub fn fields(pairs: &[(&str, String)]) -> anyhow::Result<()> {
    let width = pairs
        .iter()
        .map(|(label, _)| label.chars().count() + 1)
        .max()
        .unwrap_or(0);
    for (label, value) in pairs {
        let label = format!("{label}:");
        outln!("{label:<width$}  {value}");
    }
    Ok(())
}

/// `2020-10-15T06:38:00.000+00:00` → `2020-10-15 06:38:00`.
pub fn date(raw: &str) -> String {
    match raw.get(..19) {
        Some(head) if raw.as_bytes().get(10) == Some(&b'T') => head.replacen('T', " ", 1),
        _ => raw.to_owned(),
    }
}

/// Seconds → `0.4ms`, `12ms`, `1.50s`, `2m05s`.
pub fn duration(seconds: f64) -> String {
    if seconds < 0.01 {
        format!("{:.1}ms", seconds * 1000.0)
    } else if seconds < 1.0 {
        format!("{}ms", (seconds * 1000.0).round())
    } else if seconds < 60.0 {
        format!("{seconds:.2}s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Bytes → `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `yes`/`no`.
pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// A dash for an empty cell.
pub fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// The two URLs a function answers plain HTTP on: `{server}/fn/{id}/` and
/// `http://{id}.{base-domain}:{port}/`.
pub fn function_urls(endpoint: &Url, function_id: &str, base_domain: &str) -> [String; 2] {
    let mut by_path = endpoint.clone();
    let prefix = endpoint
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_owned();
    by_path.set_path(&format!("{prefix}/fn/{function_id}/"));
    let port = endpoint
        .port()
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    let by_host = format!("{}://{function_id}.{base_domain}{port}/", endpoint.scheme());
    [by_path.to_string(), by_host]
}

/// The functions' domain, as `wafer serve` is told it (`WAFER_BASE_DOMAIN`).
pub fn base_domain() -> String {
    std::env::var("WAFER_BASE_DOMAIN")
        .ok()
        .filter(|domain| !domain.trim().is_empty())
        .unwrap_or_else(|| "functions.localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_on_the_widest_cell() {
        let mut table = Table::new(["ID", "NAME"]);
        table.row(vec!["hello".into(), "Hello".into()]);
        table.row(vec!["a".into(), "".into()]);
        assert_eq!(table.render(), "ID     NAME\nhello  Hello\na\n");
    }

    #[test]
    fn limited_columns_cut_long_cells() {
        let mut table = Table::new(["PATH", "X"]).limit(0, 5);
        table.row(vec!["/a/b/c/d".into(), "1".into()]);
        assert_eq!(table.render(), "PATH   X\n/a/b…  1\n");
    }

    #[test]
    fn dates_durations_and_sizes_read_well() {
        assert_eq!(date("2020-10-15T06:38:00.000+00:00"), "2020-10-15 06:38:00");
        assert_eq!(date(""), "");
        assert_eq!(duration(0.0004), "0.4ms");
        assert_eq!(duration(0.0123), "12ms");
        assert_eq!(duration(1.5), "1.50s");
        assert_eq!(duration(125.0), "2m05s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12 << 20), "12.0 MiB");
    }

    #[test]
    fn function_urls_use_the_server_and_the_base_domain() {
        let endpoint = Url::parse("http://127.0.0.1:8080/v1").expect("valid");
        let [by_path, by_host] = function_urls(&endpoint, "hello", "functions.localhost");
        assert_eq!(by_path, "http://127.0.0.1:8080/fn/hello/");
        assert_eq!(by_host, "http://hello.functions.localhost:8080/");
    }
}
