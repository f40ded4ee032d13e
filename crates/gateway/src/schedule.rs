//! Cron schedules: validation and the next run time.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use croner::Cron;
use wafer_store::Timestamp;

use crate::error::ApiError;

pub fn parse(expression: &str) -> Result<Cron, ApiError> {
    Cron::from_str(expression).map_err(|error| {
        ApiError::invalid_argument(format!(
            "Invalid `schedule` param: '{expression}' is not a 5-field cron expression ({error})."
        ))
    })
}

/// The first time strictly after `after` that `expression` fires; `None` for no schedule.
pub fn next_run(expression: &str, after: Timestamp) -> Result<Option<Timestamp>, ApiError> {
    if expression.trim().is_empty() {
        return Ok(None);
    }
    let cron = parse(expression)?;
    let Some(start) = Utc.timestamp_millis_opt(after.as_millis()).single() else {
        return Ok(None);
    };
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|error| ApiError::invalid_argument(format!("Invalid `schedule`: {error}")))?;
    Ok(Some(Timestamp(next.timestamp_millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_minute_fires_within_a_minute() {
        let now = Timestamp::now();
        let next = next_run("* * * * *", now).expect("valid").expect("fires");
        assert!(next.as_millis() > now.as_millis());
        assert!(next.as_millis() - now.as_millis() <= 60_000);
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(next_run("every tuesday", Timestamp::now()).is_err());
    }
}
