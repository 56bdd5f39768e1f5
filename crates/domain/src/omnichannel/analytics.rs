//! The arithmetic of the cross-channel report (O-5): the attribution window, the
//! nearest-rank percentiles of first-response times, and the touchpoint paths —
//! the channels a customer wrote on before their first order, consecutive repeats
//! collapsed and the last few kept — with their ranking.
//!
//! The database computes all of it over the messages (`persistence::channel_reports`);
//! these functions define what it computes and shape what it returns.

use serde::Serialize;
use utoipa::ToSchema;

use crate::reports::round2;

/// A lead, deal or order counts for a conversation when it came at or after the
/// conversation started and less than this many days (of 24 hours) after it.
pub const ATTRIBUTION_DAYS: i64 = 30;

/// How many touches a touchpoint path keeps: the last ones before the first order.
pub const PATH_TOUCHES: usize = 4;

/// Paths a report lists when the caller does not say, and the most it lists.
pub const DEFAULT_TOP_PATHS: usize = 10;
pub const MAX_TOP_PATHS: usize = 100;

/// The percentiles of first-response times the report gives.
pub const MEDIAN: i64 = 50;
pub const P90: i64 = 90;

/// The 1-based nearest rank of the `percent`-th percentile (1..=100) among `count`
/// sorted values: the smallest rank `r` with `r * 100 >= count * percent`, so that at
/// least `percent` % of the values are at or below it. 0 when there are no values.
///
/// Integer arithmetic, so that the database's `rank * 100 >= count * percent` picks
/// exactly this rank.
pub fn nearest_rank(count: i64, percent: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    let product = count * percent.clamp(1, 100);
    ((product + 99) / 100).clamp(1, count)
}

/// The touchpoint path of a customer's touches in the order they happened: repeats of
/// the same channel in a row count once, and only the last [`PATH_TOUCHES`] remain.
/// `telegram, telegram, sms, telegram, whatsapp, whatsapp, sms` is
/// `sms → telegram → whatsapp → sms` (the first `telegram` falls off).
pub fn touch_path<T: PartialEq + Clone>(touches: &[T]) -> Vec<T> {
    let mut path: Vec<T> = Vec::new();
    for touch in touches {
        if path.last() != Some(touch) {
            path.push(touch.clone());
        }
    }
    let keep = path.len().saturating_sub(PATH_TOUCHES);
    path.split_off(keep)
}

/// One touchpoint path and how many customers took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PathCount {
    /// Channels from the earliest kept touch to the last before the first order.
    #[schema(example = json!(["telegram", "sms", "whatsapp"]))]
    pub path: Vec<String>,
    pub customers: i64,
}

/// The `limit` most frequent of `paths` (equal paths added up), most customers first,
/// then shorter paths, then in channel-name order, so equal counts list the same way
/// every time.
pub fn top_paths(
    paths: impl IntoIterator<Item = (Vec<String>, i64)>,
    limit: usize,
) -> Vec<PathCount> {
    let mut summed: std::collections::BTreeMap<Vec<String>, i64> = Default::default();
    for (path, customers) in paths {
        if path.is_empty() || customers <= 0 {
            continue;
        }
        *summed.entry(path).or_default() += customers;
    }
    let mut ranked: Vec<PathCount> = summed
        .into_iter()
        .map(|(path, customers)| PathCount { path, customers })
        .collect();
    ranked.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then(a.path.len().cmp(&b.path.len()))
            .then_with(|| a.path.cmp(&b.path))
    });
    ranked.truncate(limit);
    ranked
}

/// Times from a conversation's first customer message to the first reply an agent
/// wrote, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct ResponseTimes {
    /// Conversations measured: those with an agent reply.
    pub conversations: i64,
    /// Mean, two decimals; `None` without conversations.
    pub mean_seconds: Option<f64>,
    /// Median (nearest rank).
    pub p50_seconds: Option<i64>,
    /// 90th percentile (nearest rank).
    pub p90_seconds: Option<i64>,
}

impl ResponseTimes {
    /// The figures of `conversations` replies taking `total_seconds` together, with
    /// the percentiles the database picked.
    pub fn of(
        conversations: i64,
        total_seconds: i128,
        p50_seconds: Option<i64>,
        p90_seconds: Option<i64>,
    ) -> ResponseTimes {
        if conversations <= 0 {
            return ResponseTimes::default();
        }
        ResponseTimes {
            conversations,
            mean_seconds: Some(round2(total_seconds as f64 / conversations as f64)),
            p50_seconds,
            p90_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::kpis::percentile;

    #[test]
    fn nearest_rank_matches_the_service_percentiles() {
        assert_eq!(nearest_rank(0, 50), 0);
        assert_eq!(nearest_rank(1, 50), 1);
        assert_eq!(nearest_rank(1, 90), 1);
        assert_eq!(nearest_rank(2, 50), 1);
        assert_eq!(nearest_rank(3, 50), 2);
        assert_eq!(nearest_rank(10, 90), 9);
        assert_eq!(nearest_rank(11, 90), 10);
        assert_eq!(nearest_rank(30, 90), 27);
        for count in 1..=500_i64 {
            let sorted: Vec<i64> = (1..=count).collect();
            for percent in [MEDIAN, P90] {
                let rank = nearest_rank(count, percent);
                assert!(rank * 100 >= count * percent);
                assert!((rank - 1) * 100 < count * percent);
                assert_eq!(
                    percentile(&sorted, percent as f64 / 100.0),
                    Some(rank),
                    "{count} values, p{percent}"
                );
            }
        }
    }

    #[test]
    fn paths_collapse_repeats_and_keep_the_last_touches() {
        assert_eq!(touch_path::<&str>(&[]), Vec::<&str>::new());
        assert_eq!(touch_path(&["sms", "sms", "sms"]), vec!["sms"]);
        assert_eq!(
            touch_path(&["telegram", "sms", "telegram"]),
            vec!["telegram", "sms", "telegram"]
        );
        assert_eq!(
            touch_path(&["telegram", "telegram", "sms", "telegram", "whatsapp", "whatsapp", "sms"]),
            vec!["sms", "telegram", "whatsapp", "sms"]
        );
        // Collapsing comes before the cut: five distinct runs keep their last four.
        assert_eq!(
            touch_path(&["a", "b", "b", "c", "d", "d", "d", "e"]),
            vec!["b", "c", "d", "e"]
        );
    }

    fn path(channels: &[&str]) -> Vec<String> {
        channels.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn top_paths_add_up_and_rank() {
        let top = top_paths(
            [
                (path(&["sms"]), 2),
                (path(&["telegram", "sms"]), 3),
                (path(&["instagram"]), 3),
                (path(&["sms"]), 1),
                (path(&[]), 7),
                (path(&["whatsapp"]), 0),
                (path(&["telegram"]), 1),
            ],
            3,
        );
        assert_eq!(
            top,
            vec![
                PathCount {
                    path: path(&["instagram"]),
                    customers: 3
                },
                PathCount {
                    path: path(&["sms"]),
                    customers: 3
                },
                PathCount {
                    path: path(&["telegram", "sms"]),
                    customers: 3
                },
            ]
        );
        assert!(top_paths(Vec::new(), 10).is_empty());
        assert_eq!(top_paths([(path(&["sms"]), 1)], 0), Vec::new());
    }

    #[test]
    fn response_times() {
        assert_eq!(
            ResponseTimes::of(0, 0, None, None),
            ResponseTimes::default()
        );
        assert_eq!(
            ResponseTimes::of(3, 100, Some(20), Some(60)),
            ResponseTimes {
                conversations: 3,
                mean_seconds: Some(33.33),
                p50_seconds: Some(20),
                p90_seconds: Some(60),
            }
        );
    }
}
