//! Multi-row `INSERT`s: many rows per statement execution instead of one.
//!
//! Executing one statement per row costs a bind/step/reset round per row; a 32-row `VALUES`
//! list keeps the cursors open and makes a bulk add of jobs markedly cheaper. Rows go in chunks of [`WIDE`], then [`NARROW`], then one at a time, so only
//! three statements per table are ever prepared (and cached).
//!
//! The statements are `INSERT OR IGNORE`: a statement that cannot abort needs no statement
//! journal (SQLite would otherwise copy every page it touches). The callers never write a row
//! that breaks a constraint, and every execution checks that all its rows were written, so an
//! ignored row still fails the operation instead of vanishing.

use std::sync::OnceLock;

use rusqlite::{Connection, Statement};

use crate::error::StoreResult;

/// Rows per statement for large and medium flushes.
pub(crate) const WIDE: usize = 32;
pub(crate) const NARROW: usize = 8;

/// One table's multi-row insert: `INSERT INTO <into> VALUES (?, ...), ...`.
#[derive(Debug)]
pub(crate) struct BulkInsert {
    /// `table (col, ...)`.
    pub into: &'static str,
    pub columns: usize,
    pub sql: [OnceLock<String>; 3],
}

impl BulkInsert {
    pub(crate) const fn new(into: &'static str, columns: usize) -> Self {
        Self {
            into,
            columns,
            sql: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
        }
    }

    /// The statement text for `rows` rows (one of `WIDE`, `NARROW`, 1).
    pub(crate) fn sql(&self, rows: usize) -> &str {
        let slot = match rows {
            WIDE => &self.sql[0],
            NARROW => &self.sql[1],
            _ => &self.sql[2],
        };
        slot.get_or_init(|| {
            let row = format!("({})", vec!["?"; self.columns].join(", "));
            let values = vec![row.as_str(); rows].join(", ");
            format!("INSERT OR IGNORE INTO {} VALUES {values}", self.into)
        })
    }

    /// Inserts `rows`; `bind(stmt, first, row)` binds one row's columns from index `first`.
    pub(crate) fn run<R>(
        &self,
        conn: &Connection,
        rows: &[R],
        mut bind: impl FnMut(&mut Statement<'_>, usize, &R) -> rusqlite::Result<()>,
    ) -> StoreResult<()> {
        let mut rest = rows;
        for width in [WIDE, NARROW, 1] {
            if rest.len() < width {
                continue;
            }
            let mut stmt = conn.prepare_cached(self.sql(width))?;
            while rest.len() >= width {
                let (chunk, tail) = rest.split_at(width);
                for (i, row) in chunk.iter().enumerate() {
                    bind(&mut stmt, i * self.columns + 1, row)?;
                }
                let written = stmt.raw_execute()?;
                if written != width {
                    return Err(oxq_core::Error::store(format!(
                        "{} of {width} rows were written to {}",
                        written, self.into
                    ))
                    .into());
                }
                rest = tail;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_widths_match_their_sql() {
        let insert = BulkInsert::new("t (a, b, c)", 3);
        for width in [WIDE, NARROW, 1] {
            assert_eq!(insert.sql(width).matches('?').count(), width * 3);
        }
    }
}
