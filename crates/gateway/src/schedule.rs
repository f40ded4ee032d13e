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

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// An expression whose fields each fire at least once a year: day-of-month stays within
        /// 1-28, which every month has.
        const YEAR_MS: i64 = 366 * 24 * 60 * 60 * 1000;

        /// 1970 to 2100, as milliseconds.
        fn instant() -> impl Strategy<Value = i64> {
            0i64..4_102_444_800_000
        }

        /// One cron field over `min..=max`: `*`, a value, a range, a step or a list.
        fn field(min: u32, max: u32) -> BoxedStrategy<String> {
            prop_oneof![
                Just("*".to_owned()),
                (min..=max).prop_map(|n| n.to_string()),
                (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
                (1..=max).prop_map(|step| format!("*/{step}")),
                proptest::collection::btree_set(min..=max, 1..4).prop_map(|values| {
                    values
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                }),
            ]
            .boxed()
        }

        fn expression() -> impl Strategy<Value = String> {
            (
                field(0, 59),
                field(0, 23),
                field(1, 28),
                field(1, 12),
                field(0, 6),
            )
                .prop_map(|(minute, hour, day, month, weekday)| {
                    format!("{minute} {hour} {day} {month} {weekday}")
                })
        }

        fn config() -> ProptestConfig {
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(256)
            }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn arbitrary_strings_and_instants_never_panic(
                text in any::<String>(),
                at in prop_oneof![any::<i64>(), instant(), 8_210_266_000_000i64..8_210_266_876_800_000],
            ) {
                let _ = next_run(&text, Timestamp(at));
            }

            #[test]
            fn near_cron_strings_never_panic(
                text in "[0-9*/,\\- LW#?A-Za-z]{0,30}",
                at in instant(),
            ) {
                let _ = next_run(&text, Timestamp(at));
            }

            #[test]
            fn the_next_run_is_strictly_later_and_within_a_year(
                expression in expression(),
                at in instant(),
            ) {
                let next = next_run(&expression, Timestamp(at))
                    .map_err(|error| TestCaseError::fail(error.message))?
                    .expect("a valid expression fires");
                prop_assert!(next.as_millis() > at, "{expression}: {next:?} not after {at}");
                prop_assert!(next.as_millis() - at <= YEAR_MS, "{expression}: {next:?} too far from {at}");
            }

            #[test]
            fn the_next_run_never_goes_back_when_the_start_moves_forward(
                expression in expression(),
                at in instant(),
                later_by in 0i64..YEAR_MS,
            ) {
                let first = next_run(&expression, Timestamp(at)).expect("valid").expect("fires");
                let second = next_run(&expression, Timestamp(at + later_by))
                    .expect("valid")
                    .expect("fires");
                prop_assert!(first <= second, "{expression}: {first:?} then {second:?}");
            }
        }
    }
}
