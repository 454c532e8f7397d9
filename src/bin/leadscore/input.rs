//! Opening a leads file (or standard input) for the library's reader (`leadscore::leads`), which reads CSV and
//! NDJSON the same way here and in the browser's backtest.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use leadscore::backtest::Input;
use leadscore::leads::{Format, Lead, Maker, Raw, Reader as LeadReader, RowError};
use leadscore::mapping::Mapping;
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
    inner: LeadReader<Box<dyn Read + Send>>,
    size: Option<u64>,
}

impl<'p> Reader<'p> {
    /// Opens `path` (`-`: standard input). `extra` names columns handed back with each lead (`Lead::extra`).
    pub fn open(path: &Path, format: InputFormat, program: &'p Program, extra: &[&str]) -> Result<Self, String> {
        let r = Self::open_with(path, format, program, extra)?;
        r.note_ignored();
        Ok(r)
    }

    /// Opens `path` to be read as a mapping says ([`Reader::apply`]).
    pub fn open_unmapped(path: &Path, format: InputFormat, program: &'p Program) -> Result<Self, String> {
        Self::open_with(path, format, program, &[])
    }

    fn open_with(path: &Path, format: InputFormat, program: &'p Program, extra: &[&str]) -> Result<Self, String> {
        let (input, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
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
        Ok(Reader { program, inner, size })
    }

    fn note_ignored(&self) {
        if !self.inner.ignored_columns().is_empty() {
            eprintln!(
                "note: columns that are not fields or events of the model are ignored: {}",
                self.inner.ignored_columns().join(", ")
            );
        }
    }

    /// A mapping for the file: its CRM's preset, its columns matched to the model's fields.
    pub fn propose(&self, program: &Program) -> Mapping {
        let headers: Vec<&str> = self.inner.headers().iter().map(String::as_str).collect();
        Mapping::propose(&headers, program)
    }

    /// Reads the file as `mapping` says (its outcome and `scored_at` columns become the extra columns 0 and 1).
    pub fn apply(&mut self, program: &Program, mapping: &Mapping) {
        self.inner.apply(program, mapping);
        self.note_ignored();
    }

    /// How the file was read, for the report.
    pub fn input_summary(&self, mapping: &Mapping) -> Input {
        self.inner.input_summary(mapping)
    }

    /// Reads a CSV history held in memory (a receiver's store, exported).
    #[cfg(feature = "serve")]
    pub fn from_bytes(bytes: Vec<u8>, program: &'p Program) -> Result<Self, String> {
        let size = Some(bytes.len() as u64);
        let input: Box<dyn Read + Send> = Box::new(io::Cursor::new(bytes));
        let inner = LeadReader::new(input, Format::Csv, program, &[])?;
        Ok(Reader { program, inner, size })
    }

    /// The next lead as read, to be made by a [`Maker`] ([`Reader::maker`]) on any thread.
    pub fn next_raw(&mut self) -> Option<Result<Raw, RowError>> {
        self.inner.next_raw()
    }

    /// Adds what a [`Reader::maker`] counted of values converted and left out ([`Maker::take_values`]).
    pub fn merge_values(&mut self, later: &leadscore::mapping::Values) {
        self.inner.merge_values(later);
    }

    /// What makes the leads of [`Reader::next_raw`].
    pub fn maker(&self) -> Maker {
        self.inner.maker()
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
