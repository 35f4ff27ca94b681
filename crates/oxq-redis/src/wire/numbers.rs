//! Lenient numbers: what a hash field or a JSON value holds is clamped into range instead of
//! failing (NaN and infinities become 0).

pub(super) fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) fn clamp_u32(x: f64) -> u32 {
    if x.is_finite() {
        x.clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// Milliseconds, at most 10^15 (about 31,000 years).
pub(super) fn clamp_ms(x: f64) -> u64 {
    if x.is_finite() {
        x.clamp(0.0, 1e15) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_numbers_are_clamped() {
        assert_eq!(saturate(u64::MAX), u32::MAX);
        assert_eq!(clamp_u32(-3.0), 0);
        assert_eq!(clamp_u32(f64::NAN), 0);
        assert_eq!(clamp_u32(1e20), u32::MAX);
        assert_eq!(clamp_ms(f64::INFINITY), 0);
        assert_eq!(clamp_ms(1500.7), 1500);
    }
}
