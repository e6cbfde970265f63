//! A plain-text table whose columns line up, for the result each program prints.

/// Rows of cells under a header.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Renders it as a Markdown table (readable as text too).
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut width = vec![3; cols];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in row.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |row: &[String]| {
            let cells: Vec<String> = (0..cols)
                .map(|i| {
                    let c = row.get(i).map_or("", String::as_str);
                    format!("{c:<w$}", w = width[i])
                })
                .collect();
            format!("| {} |", cells.join(" | "))
        };
        let mut out = line(&self.header);
        out.push('\n');
        let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// `12.3`: milliseconds with one decimal.
pub fn ms(v: f64) -> String {
    format!("{v:.1}")
}

/// `1.23`: a ratio with two decimals.
pub fn ratio(v: f64) -> String {
    format!("{v:.2}")
}
