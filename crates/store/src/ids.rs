//! Record ids: Appwrite-style generated ids and validation of client-chosen ones.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest id a client may choose.
pub const MAX_ID_LEN: usize = 36;

/// The last microsecond value handed out, so ids from one process are strictly increasing even when
/// several are made within one microsecond (or the clock steps back).
static LAST_MICROS: AtomicU64 = AtomicU64::new(0);

/// A new 20-character lower-case hex id, like Appwrite's `ID.unique()`: PHP's `uniqid()` (8 hex digits
/// of seconds + 5 of microseconds) followed by 7 random hex digits. The time-ordered prefix keeps
/// B-tree inserts local and makes ids sort roughly by creation time.
pub fn unique_id() -> String {
    let micros = next_micros();
    let secs = micros / 1_000_000;
    let usec = micros % 1_000_000;
    let suffix = random_u32() & 0x0fff_ffff;
    // `secs` fits in 8 hex digits until the year 2106.
    format!("{:08x}{:05x}{:07x}", secs & 0xffff_ffff, usec, suffix)
}

fn next_micros() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut last = LAST_MICROS.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST_MICROS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}

fn random_u32() -> u32 {
    getrandom::u32().unwrap_or_else(|err| {
        // The OS generator failing is near impossible; the time prefix still keeps ids unique within
        // this process, so degrade instead of failing the request.
        tracing::warn!(%err, "OS random generator failed; id suffix falls back to a counter");
        static FALLBACK: AtomicU64 = AtomicU64::new(0);
        FALLBACK.fetch_add(1, Ordering::Relaxed) as u32
    })
}

/// Checks a client-chosen id: 1 to 36 characters of `[a-zA-Z0-9._-]`, not starting with `.`, `_` or
/// `-`. The error text is suitable for a 400 `general_argument_invalid` message.
pub fn validate_custom_id(id: &str) -> Result<(), String> {
    const RULE: &str = "UID must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, period, \
                        hyphen, and underscore. Can't start with a special char";
    let valid_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let starts_ok = id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if id.len() > MAX_ID_LEN || !valid_chars || !starts_ok {
        return Err(format!("Invalid id '{id}': {RULE}."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_are_twenty_hex_chars_and_increase() {
        let ids: Vec<String> = (0..1000).map(|_| unique_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 20);
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        for pair in ids.windows(2) {
            assert!(pair[0][..13] < pair[1][..13], "{} !< {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn custom_ids_follow_appwrite_rules() {
        for good in ["a", "my-function", "F.1_x", &"a".repeat(36)] {
            assert!(validate_custom_id(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", ".x", "_x", "a b", "ä", &"a".repeat(37)] {
            assert!(validate_custom_id(bad).is_err(), "{bad}");
        }
    }
}
