//! Free space on the filesystem holding a file (`statvfs`), for the embedded store's check.

use std::path::Path;

/// Bytes an unprivileged process may still write on the filesystem holding `dir`.
pub fn available_bytes(dir: &Path) -> Result<u64, String> {
    let stats = rustix::fs::statvfs(dir).map_err(|e| format!("statvfs {}: {e}", dir.display()))?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// `bytes` for people: `512 B`, `3.4 MB`, `12.0 GB` (powers of 1024).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 * 1024 * 1024 + 400 * 1024), "3.4 MB");
        assert_eq!(human(12 * 1024 * 1024 * 1024), "12.0 GB");
    }

    #[test]
    fn the_current_directory_has_a_free_space() {
        assert!(available_bytes(Path::new(".")).is_ok());
        assert!(available_bytes(Path::new("/no/such/dir")).is_err());
    }
}
