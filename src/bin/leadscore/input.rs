//! Opening a leads file (or standard input) for the library's reader (`leadscore::leads`), which reads CSV and
//! NDJSON the same way here and in the browser's backtest.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use leadscore::leads::{Format, Lead, Reader as LeadReader, RowError};
use leadscore::Program;

use crate::InputFormat;

pub use leadscore::leads::parse_time;

pub fn guess(path: &Path) -> InputFormat {
    match Format::guess(&path.to_string_lossy()) {
        Format::Ndjson => InputFormat::Ndjson,
        Format::Csv => InputFormat::Csv,
    }
}

/// The leads of a file, with its size for a progress bar.
pub struct Reader<'p> {
    program: &'p Program,
    inner: LeadReader<Box<dyn Read>>,
    size: Option<u64>,
}

impl<'p> Reader<'p> {
    /// Opens `path` (`-`: standard input). `extra` names columns handed back with each lead (`Lead::extra`).
    pub fn open(path: &Path, format: InputFormat, program: &'p Program, extra: &[&str]) -> Result<Self, String> {
        let (input, size): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
            (Box::new(io::stdin()), None)
        } else {
            let f = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        };
        let format = match format {
            InputFormat::Csv => Format::Csv,
            InputFormat::Ndjson => Format::Ndjson,
        };
        let inner = LeadReader::new(input, format, program, extra).map_err(|e| format!("{}: {e}", path.display()))?;
        if !inner.ignored_columns().is_empty() {
            eprintln!(
                "note: columns that are not fields or events of the model are ignored: {}",
                inner.ignored_columns().join(", ")
            );
        }
        Ok(Reader { program, inner, size })
    }

    /// Reads a CSV history held in memory (a receiver's store, exported).
    #[cfg(feature = "serve")]
    pub fn from_bytes(bytes: Vec<u8>, program: &'p Program, extra: &[&str]) -> Result<Self, String> {
        let size = Some(bytes.len() as u64);
        let input: Box<dyn Read> = Box::new(io::Cursor::new(bytes));
        let inner = LeadReader::new(input, Format::Csv, program, extra)?;
        Ok(Reader { program, inner, size })
    }

    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Whether the input has the extra column `i`.
    pub fn has_extra(&self, i: usize) -> bool {
        self.inner.has_extra(i)
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Lead, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_lead(self.program)
    }
}
