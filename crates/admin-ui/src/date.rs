//! Timestamps as Node sends a `Date`: `JSON.stringify` writes
//! `date.toISOString()`, `2026-12-02T15:00:00.000Z`.

use std::time::SystemTime;

use serde_json::Value;

/// Now, as a JavaScript `Date` serializes.
pub(crate) fn now_json() -> Value {
    Value::String(humantime::format_rfc3339_millis(SystemTime::now()).to_string())
}

/// Now in milliseconds since the epoch, truncated to the second (the
/// aggregated events' `timestamp`).
pub(crate) fn this_second_ms() -> u64 {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let ms = u64::try_from(ms).unwrap_or(u64::MAX);
    ms - ms % 1000
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_written_as_to_iso_string() {
        let Some(text) = super::now_json().as_str().map(str::to_owned) else {
            panic!("a string")
        };
        assert_eq!(text.len(), "2026-12-02T15:00:00.000Z".len(), "{text}");
        assert!(
            text.ends_with('Z') && text.as_bytes().get(19) == Some(&b'.'),
            "{text}"
        );
    }
}
