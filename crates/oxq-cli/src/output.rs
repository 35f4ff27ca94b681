//! How answers are printed: aligned tables for people, one JSON value for scripts, and the
//! JSON form of a job shared by `list --json` and `get --json`.

use serde_json::{Value, json};

use oxq::JobRecord;

/// Prints `value` as one line of JSON.
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// JSON text as a value; text that is not JSON stays a string (nothing is lost).
pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A job as `get --json` and `list --json` print it.
pub fn job_json(record: &JobRecord) -> Value {
    json!({
        "id": record.id.as_str(),
        "name": record.name,
        "state": record.state.as_str(),
        "data": json_of(&record.data),
        "options": record.options,
        "progress": json_of(&record.progress),
        "attempts_made": record.attempts_made,
        "attempts_started": record.attempts_started,
        "stalled_count": record.stalled_count,
        "return_value": record.return_value.as_deref().map(json_of),
        "failed_reason": record.failed_reason,
        "stacktrace": record.stacktrace,
        "timestamp": record.timestamp,
        "processed_on": record.processed_on,
        "finished_on": record.finished_on,
        "due_at": record.due_at,
        "processed_by": record.processed_by,
    })
}
