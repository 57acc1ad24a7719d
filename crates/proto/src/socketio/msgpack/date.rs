//! MessagePack timestamps as `Date.prototype.toJSON` prints them.

use std::fmt::Write;

/// The largest time value a JavaScript `Date` holds, in ms either side of 1970.
const MAX_TIME: f64 = 8.64e15;
const MS_PER_DAY: i64 = 86_400_000;

/// What `new Date(ms).toJSON()` gives: `YYYY-MM-DDTHH:mm:ss.sssZ` (years outside
/// 0 to 9999 as `±YYYYYY`), or `None` for an invalid date (`toJSON` gives `null`)
/// when `ms` is not finite or beyond ±8.64e15.
pub(super) fn iso_string(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > MAX_TIME {
        return None;
    }
    // TimeClip: towards zero. In range, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    let ms = ms.trunc() as i64;
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(27);
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}");
    } else {
        let _ = write!(out, "{year:+07}");
    }
    let _ = write!(
        out,
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    );
    Some(out)
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::iso_string;

    #[test]
    fn prints_as_date_to_json() {
        assert_eq!(iso_string(0.0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso_string(960_854_400_000.0).as_deref(),
            Some("2000-06-13T00:00:00.000Z")
        );
        assert_eq!(
            iso_string(-1.0).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
        assert_eq!(iso_string(1.5).as_deref(), Some("1970-01-01T00:00:00.001Z"));
        assert_eq!(
            iso_string(-1.5).as_deref(),
            Some("1969-12-31T23:59:59.999Z")
        );
        assert_eq!(
            iso_string(8.64e15).as_deref(),
            Some("+275760-09-13T00:00:00.000Z")
        );
        assert_eq!(
            iso_string(-8.64e15).as_deref(),
            Some("-271821-04-20T00:00:00.000Z")
        );
        assert_eq!(
            iso_string(-62_198_755_200_000.0).as_deref(),
            Some("-000001-01-01T00:00:00.000Z")
        );
        assert_eq!(
            iso_string(253_402_300_800_000.0).as_deref(),
            Some("+010000-01-01T00:00:00.000Z")
        );
        assert_eq!(iso_string(8.64e15 + 1.0), None);
        assert_eq!(iso_string(f64::NAN), None);
    }
}
