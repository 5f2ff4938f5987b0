//! The one CSV writer of every export (activation slips, coverage, the not-installed lists): officers open
//! these files in a spreadsheet, so no cell may start a formula there (CSV injection, OWASP).
//!
//! The rule: a **text** cell that begins with `=`, `+`, `-`, `@`, TAB or CR, or with the full-width
//! `＝ ＋ － ＠`, is written with a single quote `'` in front, which spreadsheets show as text and never
//! evaluate; the csv crate still quotes the cell as CSV requires. **Number** cells (counts, ratios) are
//! written from a number type by this writer and are never changed: a number cannot carry a formula, and
//! the counts and ratios of our exports are never negative anyway. Every other cell is text, including
//! names, units, cells, codes and dates.

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::error::AppError;

/// A CSV download named `file_name` (only ASCII letters, digits, `-`, `_` and `.` are kept), never cached.
/// `builder` may carry headers of its own already (the console's).
pub fn download(mut builder: HttpResponseBuilder, file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    let safe: String =
        file_name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    builder
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes)
}

/// One cell of an export row.
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    /// Text, from people or from us: neutralised when it could start a formula.
    Text(&'a str),
    /// A count, written as is.
    Count(i64),
    /// A ratio, written with four decimals.
    Ratio(f64),
}

/// Characters that make a spreadsheet read a cell as a formula when they come first.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// The text as a spreadsheet must see it: with a leading `'` when it begins like a formula.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A CSV file being written in memory: a header row, then rows of the same length.
pub struct CsvExport {
    out: csv::Writer<Vec<u8>>,
}

impl CsvExport {
    /// A file that starts with this header row.
    pub fn new(header: &[&str]) -> Result<CsvExport, AppError> {
        let mut export = CsvExport { out: csv::Writer::from_writer(Vec::new()) };
        export.row(header.iter().map(|name| Cell::Text(name)))?;
        Ok(export)
    }

    /// Appends one row.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) -> Result<(), AppError> {
        let record: Vec<Cow<'_, str>> = cells
            .into_iter()
            .map(|cell| match cell {
                Cell::Text(text) => neutralise(text),
                Cell::Count(n) => Cow::Owned(n.to_string()),
                Cell::Ratio(x) => Cow::Owned(format!("{x:.4}")),
            })
            .collect();
        self.out.write_record(record.iter().map(|cell| cell.as_bytes())).map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// The bytes of the file.
    pub fn finish(self) -> Result<Vec<u8>, AppError> {
        Ok(self.out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_quoted_and_the_rest_is_kept() {
        for text in ["=1+1", "+cmd", "-2+3", "@SUM(1)", "\tx", "\rx", "＝1", "＋1", "－1", "＠x"] {
            assert_eq!(neutralise(text), format!("'{text}"));
        }
        for text in ["Nguyễn Văn A", "", "1-2", "'quoted", " =spaced"] {
            assert_eq!(neutralise(text), text);
        }
    }

    #[test]
    fn text_is_neutralised_and_numbers_are_not() {
        let mut export = CsvExport::new(&["name", "count", "ratio"]).unwrap();
        export.row([Cell::Text("=HYPERLINK(\"http://x\",\"x\")"), Cell::Count(-3), Cell::Ratio(0.5)]).unwrap();
        let text = String::from_utf8(export.finish().unwrap()).unwrap();
        assert_eq!(text, "name,count,ratio\n\"'=HYPERLINK(\"\"http://x\"\",\"\"x\"\")\",-3,0.5000\n");
    }
}
