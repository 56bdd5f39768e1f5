//! Assignment (S-3): who a new record goes to. The business orders its assignment
//! rules; the first whose condition the record matches and that finds an available
//! user decides. A rule's target is one user, a team shared by round robin or by least
//! load, or the territory the record's city or province belongs to (whose team is then
//! shared the territory's way).
//!
//! A user is *available* when not away (an out-of-office period covers the moment the
//! record will be picked up: now in working hours, else the next opening of the
//! business calendar) and below their capacity (the most open records of the kind they
//! may hold). The choice itself is a pure function of the candidates and the team's
//! rotation cursor (the last user the team handed a record to), so it is the same on
//! both backends and testable here; the application serialises choices per team.
//!
//! Written for any assignable record kind: leads and tickets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::persian::search_key;
use crate::validation::{FieldViolation, Violations};

/// The kinds of record assignment rules apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Lead,
    Ticket,
    /// Customers a workflow's `assign` step gives an owner; a user's load is the
    /// customers they own.
    Customer,
}

snake_names!(RecordKind {
    Lead => "lead",
    Ticket => "ticket",
    Customer => "customer",
});

/// How a team shares records among its members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each available member in turn, by a rotation that survives restarts.
    #[default]
    RoundRobin,
    /// The available member with the fewest open records; ties go by the rotation.
    LeastLoad,
}

snake_names!(Strategy {
    RoundRobin => "round_robin",
    LeastLoad => "least_load",
});

/// Where a rule sends the records it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// One user (when available).
    User { user_id: Uuid },
    /// A member of a team.
    Team {
        team_id: Uuid,
        #[serde(default)]
        strategy: Strategy,
    },
    /// A member of the team of the territory whose cities (first) or provinces hold the
    /// record's; the rule does not apply to a record outside every territory.
    Territory,
}

/// How an assignment came about, as recorded in its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A rule's user target.
    User,
    RoundRobin,
    LeastLoad,
    /// Set by a person: the owner given on create or change, or `POST …/assign`.
    Manual,
    /// No rule applied: the creator's defaults.
    Default,
}

snake_names!(Method {
    User => "user",
    RoundRobin => "round_robin",
    LeastLoad => "least_load",
    Manual => "manual",
    Default => "default",
});

impl From<Strategy> for Method {
    fn from(strategy: Strategy) -> Self {
        match strategy {
            Strategy::RoundRobin => Method::RoundRobin,
            Strategy::LeastLoad => Method::LeastLoad,
        }
    }
}

/// Rules per record kind: every record created is matched against each.
pub const MAX_RULES: usize = 200;
const MAX_NAME_CHARS: usize = 100;
const MAX_PLACES: usize = 500;
const MAX_POSITION: i32 = 1_000_000;

/// An assignment rule as a client writes it. The condition is a filter tree over the
/// record kind's search catalogue, checked by the application (absent: every record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "نمایشگاه اصفهان",
    "record_kind": "lead",
    "position": 10,
    "condition": {"and": [
        {"field": "source", "op": "eq", "value": "exhibition"},
        {"field": "language", "op": "eq", "value": "fa"}
    ]},
    "target": {"kind": "territory"},
    "active": true
}))]
pub struct RuleInput {
    pub name: String,
    pub record_kind: RecordKind,
    /// Rules are tried in ascending position (then creation order).
    pub position: i32,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub condition: Option<serde_json::Value>,
    pub target: Target,
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

impl RuleInput {
    /// Checks what needs no database; the condition's fields are checked against the
    /// catalogue by the caller.
    pub fn validated(mut self) -> Result<RuleInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(self.name);
        v.tidy_line("name", &mut name, MAX_NAME_CHARS);
        match name {
            Some(name) => self.name = name,
            None => {
                v.push("name", "required", "a rule needs a name");
                self.name = String::new();
            }
        }
        if !(0..=MAX_POSITION).contains(&self.position) {
            v.push(
                "position",
                "out_of_range",
                format!("must be between 0 and {MAX_POSITION}"),
            );
        }
        if matches!(&self.condition, Some(c) if !c.is_object()) {
            v.push("condition", "invalid_type", "must be a filter tree object");
        }
        v.into_result().map(|()| self)
    }
}

/// A territory as a client writes it: the places it covers and the team that serves
/// them. A city or province belongs to one territory at most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "منطقه مرکزی",
    "provinces": ["اصفهان", "یزد"],
    "cities": ["کاشان"],
    "team_id": "0193a4e2-7c1d-7b3e-9f10-aaaaaaaaaaaa",
    "strategy": "least_load"
}))]
pub struct TerritoryInput {
    pub name: String,
    #[serde(default)]
    pub provinces: Vec<String>,
    /// Matched before provinces: a city listed here wins over its province elsewhere.
    #[serde(default)]
    pub cities: Vec<String>,
    pub team_id: Uuid,
    #[serde(default)]
    pub strategy: Strategy,
}

impl TerritoryInput {
    /// Trims names, refuses empty and repeated places (compared as [`place_key`]).
    pub fn validated(mut self) -> Result<TerritoryInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        let mut name = Some(self.name);
        v.tidy_line("name", &mut name, MAX_NAME_CHARS);
        match name {
            Some(name) => self.name = name,
            None => {
                v.push("name", "required", "a territory needs a name");
                self.name = String::new();
            }
        }
        for (field, places) in [
            ("provinces", &mut self.provinces),
            ("cities", &mut self.cities),
        ] {
            if places.len() > MAX_PLACES {
                v.push(field, "too_many", format!("at most {MAX_PLACES} places"));
                continue;
            }
            let mut seen = Vec::with_capacity(places.len());
            for (index, place) in places.iter_mut().enumerate() {
                let path = format!("{field}[{index}]");
                let mut text = Some(std::mem::take(place));
                v.tidy_line(&path, &mut text, MAX_NAME_CHARS);
                *place = text.unwrap_or_default();
                let key = place_key(place);
                if key.is_empty() {
                    v.push(path, "required", "a place needs a name");
                } else if seen.contains(&key) {
                    v.push(path, "duplicate", "listed twice");
                } else {
                    seen.push(key);
                }
            }
        }
        if self.provinces.is_empty() && self.cities.is_empty() {
            v.push(
                "provinces",
                "required",
                "a territory covers at least one province or city",
            );
        }
        v.into_result().map(|()| self)
    }
}

/// The longest out-of-office period one entry may cover.
const MAX_ABSENCE_DAYS: i64 = 366;
const MAX_NOTE_CHARS: usize = 500;
/// The largest capacity a user may be given.
pub const MAX_CAPACITY: i64 = 100_000;

/// An out-of-office period: records are not assigned to the user while it lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "starts_at": "2026-12-12T04:30:00Z",
    "ends_at": "2026-12-19T04:30:00Z",
    "note": "مرخصی"
}))]
pub struct AbsenceInput {
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// After `starts_at`, at most a year later.
    pub ends_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

impl AbsenceInput {
    pub fn validated(mut self) -> Result<AbsenceInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        if self.ends_at <= self.starts_at {
            v.push("ends_at", "not_after_start", "must be after starts_at");
        } else if self.ends_at - self.starts_at > chrono::TimeDelta::days(MAX_ABSENCE_DAYS) {
            v.push(
                "ends_at",
                "too_long",
                format!("one period covers at most {MAX_ABSENCE_DAYS} days"),
            );
        }
        v.tidy_text("note", &mut self.note, MAX_NOTE_CHARS);
        v.into_result().map(|()| self)
    }
}

/// How places are compared: Persian-normalised letters and digits only, so "اصفهان",
/// "اصفهان " and the Arabic-lettered spelling are one place.
pub fn place_key(name: &str) -> String {
    search_key(name)
}

/// The places of one stored territory, for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryPlaces {
    pub id: Uuid,
    pub provinces: Vec<String>,
    pub cities: Vec<String>,
}

/// Which place matched a territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceMatch {
    City,
    Province,
}

/// The territory of a record in `city` of `province`: the one listing the city, else
/// the one listing the province.
pub fn territory_for<'a>(
    territories: &'a [TerritoryPlaces],
    city: Option<&str>,
    province: Option<&str>,
) -> Option<(&'a TerritoryPlaces, PlaceMatch)> {
    let find = |place: Option<&str>, list: fn(&TerritoryPlaces) -> &[String]| {
        let key = place_key(place?);
        if key.is_empty() {
            return None;
        }
        territories
            .iter()
            .find(|territory| list(territory).iter().any(|p| place_key(p) == key))
    };
    find(city, |t| &t.cities)
        .map(|t| (t, PlaceMatch::City))
        .or_else(|| find(province, |t| &t.provinces).map(|t| (t, PlaceMatch::Province)))
}

/// A user who could be given a record, with what decides whether they are available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user_id: Uuid,
    /// Open records of the kind the user holds now.
    pub open_items: i64,
    /// The most open records they may hold; `None`: no limit.
    pub capacity: Option<i64>,
    /// An out-of-office period covers the moment the record will be picked up.
    pub away: bool,
}

/// Why a candidate was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    Away,
    AtCapacity,
}

impl Candidate {
    pub fn unavailable(&self) -> Option<Unavailable> {
        if self.away {
            Some(Unavailable::Away)
        } else if self.capacity.is_some_and(|max| self.open_items >= max) {
            Some(Unavailable::AtCapacity)
        } else {
            None
        }
    }
}

/// The candidates in rotation order: by user id, starting right after `last` (the
/// user the team's cursor names), so that successive choices walk the team in a circle
/// whoever joins, leaves or is away in between.
fn rotation(candidates: &[Candidate], last: Option<Uuid>) -> Vec<&Candidate> {
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    ordered.sort_by_key(|c| c.user_id);
    if let Some(last) = last {
        let start = ordered.partition_point(|c| c.user_id <= last);
        ordered.rotate_left(start);
    }
    ordered
}

/// The member `strategy` picks among `candidates`, `last` being the team's cursor;
/// `None` when nobody is available.
pub fn choose(strategy: Strategy, candidates: &[Candidate], last: Option<Uuid>) -> Option<Uuid> {
    let available = rotation(candidates, last)
        .into_iter()
        .filter(|c| c.unavailable().is_none());
    match strategy {
        Strategy::RoundRobin => available.map(|c| c.user_id).next(),
        // `min_by_key` keeps the first of equals: ties go by the rotation.
        Strategy::LeastLoad => available.min_by_key(|c| c.open_items).map(|c| c.user_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn member(n: u128, open: i64) -> Candidate {
        Candidate {
            user_id: id(n),
            open_items: open,
            capacity: None,
            away: false,
        }
    }

    #[test]
    fn round_robin_walks_the_team_in_a_circle() {
        let team = [member(3, 0), member(1, 0), member(2, 0)];
        let mut last = None;
        let mut picked = Vec::new();
        for _ in 0..7 {
            let next = choose(Strategy::RoundRobin, &team, last).expect("someone");
            picked.push(next.as_u128());
            last = Some(next);
        }
        assert_eq!(picked, [1, 2, 3, 1, 2, 3, 1]);
        // A cursor naming someone who left the team continues after their place.
        assert_eq!(
            choose(
                Strategy::RoundRobin,
                &[member(1, 0), member(3, 0)],
                Some(id(2))
            ),
            Some(id(3))
        );
    }

    #[test]
    fn the_away_and_the_full_are_skipped_without_losing_their_turn_for_good() {
        let mut team = [member(1, 0), member(2, 5), member(3, 0)];
        team[1].capacity = Some(5);
        assert_eq!(
            choose(Strategy::RoundRobin, &team, Some(id(1))),
            Some(id(3))
        );
        team[1].capacity = Some(6);
        assert_eq!(
            choose(Strategy::RoundRobin, &team, Some(id(1))),
            Some(id(2))
        );
        team[1].away = true;
        assert_eq!(team[1].unavailable(), Some(Unavailable::Away));
        assert_eq!(
            choose(Strategy::RoundRobin, &team, Some(id(1))),
            Some(id(3))
        );
        for c in &mut team {
            c.away = true;
        }
        assert_eq!(choose(Strategy::LeastLoad, &team, None), None);
    }

    #[test]
    fn least_load_takes_the_emptiest_and_rotates_among_equals() {
        let team = [member(1, 4), member(2, 1), member(3, 1), member(4, 9)];
        assert_eq!(choose(Strategy::LeastLoad, &team, None), Some(id(2)));
        assert_eq!(choose(Strategy::LeastLoad, &team, Some(id(2))), Some(id(3)));
        assert_eq!(choose(Strategy::LeastLoad, &team, Some(id(3))), Some(id(2)));
    }

    #[test]
    fn a_city_wins_over_a_province_and_spelling_does_not_matter() {
        let territories = [
            TerritoryPlaces {
                id: id(1),
                provinces: vec!["اصفهان".into()],
                cities: vec![],
            },
            TerritoryPlaces {
                id: id(2),
                provinces: vec![],
                cities: vec!["کاشان".into()],
            },
        ];
        let (found, by) = territory_for(&territories, Some("کاشان"), Some("اصفهان")).unwrap();
        assert_eq!((found.id, by), (id(2), PlaceMatch::City));
        // Arabic kaf and yeh, extra spaces: the same province.
        let (found, by) = territory_for(&territories, Some("نجف آباد"), Some(" اصفهان ")).unwrap();
        assert_eq!((found.id, by), (id(1), PlaceMatch::Province));
        assert!(territory_for(&territories, Some("كاشان"), None).is_some());
        assert!(territory_for(&territories, None, Some("یزد")).is_none());
        assert!(territory_for(&territories, None, None).is_none());
    }

    #[test]
    fn inputs_name_every_broken_rule() {
        let rule: RuleInput = serde_json::from_value(serde_json::json!({
            "name": "  ", "record_kind": "lead", "position": -1,
            "condition": [1], "target": {"kind": "territory"}
        }))
        .unwrap();
        let codes: Vec<String> = rule
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            codes,
            [
                "name:required",
                "position:out_of_range",
                "condition:invalid_type"
            ]
        );
        let territory = TerritoryInput {
            name: "x".into(),
            provinces: vec!["تهران".into(), "تهران ".into(), " ".into()],
            cities: vec![],
            team_id: id(1),
            strategy: Strategy::RoundRobin,
        };
        let codes: Vec<String> = territory
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(codes, ["provinces[1]:duplicate", "provinces[2]:required"]);
    }
}
