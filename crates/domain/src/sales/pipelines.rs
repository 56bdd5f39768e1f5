//! Pipelines: the ordered open stages a deal moves through, each with the probability
//! that a deal there is won, followed by the two terminal stages every pipeline has,
//! `won` (100 %) and `lost` (0 %); and the business's list of reasons deals are lost.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::customers::snake_names;
use crate::validation::{FieldViolation, Violations};

const MAX_NAME_CHARS: usize = 200;
/// Most open stages one pipeline may have.
pub const MAX_OPEN_STAGES: usize = 30;
/// Longest "stuck after" setting: ten years.
pub const MAX_STUCK_AFTER_DAYS: i32 = 3650;
/// The "stuck after" setting of a pipeline that does not say.
pub const DEFAULT_STUCK_AFTER_DAYS: i32 = 30;

/// Where a stage leaves its deals: still open, won or lost. A deal's status is the kind
/// of its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Open,
    Won,
    Lost,
}

snake_names!(StageKind {
    Open => "open",
    Won => "won",
    Lost => "lost",
});

impl StageKind {
    /// Whether a deal at a stage of this kind is closed.
    pub fn is_closed(self) -> bool {
        self != StageKind::Open
    }
}

/// A terminal stage as every pipeline has it: its kind, names and probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalStage {
    pub kind: StageKind,
    pub name: &'static str,
    pub name_en: &'static str,
    pub probability: i32,
}

/// The `won` and `lost` stages, in the order they follow the open stages.
pub const TERMINAL_STAGES: [TerminalStage; 2] = [
    TerminalStage {
        kind: StageKind::Won,
        name: "برنده",
        name_en: "Won",
        probability: 100,
    },
    TerminalStage {
        kind: StageKind::Lost,
        name: "از دست رفته",
        name_en: "Lost",
        probability: 0,
    },
];

/// An open stage as a client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    /// The stage this entry keeps (renamed, moved, re-weighted); absent for a new stage.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// Chance in percent (0–100) that a deal at this stage is won.
    pub probability: i32,
}

/// Everything a client writes on a pipeline; also the document a merge patch applies
/// to. `stages` are the open stages in order; a patch that sends `stages` replaces the
/// list: entries with an `id` keep that stage, entries without one add a stage, and
/// stages left out are removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "فروش سازمانی",
    "name_en": "Enterprise sales",
    "stuck_after_days": 14,
    "is_default": false,
    "stages": [
        {"name": "تماس اول", "name_en": "First contact", "probability": 10},
        {"name": "ارائهٔ پیشنهاد", "name_en": "Proposal", "probability": 40},
        {"name": "مذاکره", "name_en": "Negotiation", "probability": 70}
    ]
}))]
pub struct PipelineInput {
    /// The pipeline's name (usually Persian), unique after Persian normalisation.
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// An open deal that has not changed for this many days is stuck (1–3650).
    #[serde(default = "default_stuck_after_days")]
    pub stuck_after_days: i32,
    /// Whether new deals that name no pipeline go here; setting it moves the mark from
    /// the current default pipeline.
    #[serde(default)]
    pub is_default: bool,
    /// The open stages in order, 1 to 30; `won` and `lost` follow them.
    pub stages: Vec<StageInput>,
}

fn default_stuck_after_days() -> i32 {
    DEFAULT_STUCK_AFTER_DAYS
}

impl PipelineInput {
    /// The pipeline in stored form (texts tidied), or every broken rule that needs no
    /// lookup.
    pub fn validated(mut self) -> Result<PipelineInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line("name_en", &mut self.name_en, MAX_NAME_CHARS);
        if !(1..=MAX_STUCK_AFTER_DAYS).contains(&self.stuck_after_days) {
            v.push(
                "stuck_after_days",
                "out_of_range",
                format!("must be 1 to {MAX_STUCK_AFTER_DAYS}"),
            );
        }
        if self.stages.is_empty() || self.stages.len() > MAX_OPEN_STAGES {
            v.push(
                "stages",
                "invalid_length",
                format!("must hold 1 to {MAX_OPEN_STAGES} open stages"),
            );
        }
        let mut ids = Vec::new();
        let mut keys = Vec::new();
        for (index, stage) in self.stages.iter_mut().enumerate() {
            let field = |name: &str| format!("stages[{index}].{name}");
            v.required_line(&field("name"), &mut stage.name, MAX_NAME_CHARS);
            v.tidy_line(&field("name_en"), &mut stage.name_en, MAX_NAME_CHARS);
            if !(0..=100).contains(&stage.probability) {
                v.push(field("probability"), "out_of_range", "must be 0 to 100");
            }
            if let Some(id) = stage.id {
                if ids.contains(&id) {
                    v.push(field("id"), "duplicate", "names a stage listed before");
                }
                ids.push(id);
            }
            let key = crate::persian::search_key(&stage.name);
            let terminal = TERMINAL_STAGES.iter().any(|terminal| {
                [terminal.name, terminal.name_en]
                    .iter()
                    .any(|name| crate::persian::search_key(name) == key)
            });
            if terminal || (!key.is_empty() && keys.contains(&key)) {
                v.push(
                    field("name"),
                    "duplicate",
                    "must differ from the other stages, `won` and `lost` included",
                );
            }
            keys.push(key);
        }
        v.into_result().map(|()| self)
    }
}

/// A reason deals are lost, as a client writes it; also the document a merge patch
/// applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "قیمت بالا", "name_en": "Price too high", "active": true}))]
pub struct LostReasonInput {
    /// Unique after Persian normalisation.
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    /// Inactive reasons stay on the deals lost for them but are not offered for new ones.
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

impl LostReasonInput {
    pub fn validated(mut self) -> Result<LostReasonInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line("name_en", &mut self.name_en, MAX_NAME_CHARS);
        v.into_result().map(|()| self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, probability: i32) -> StageInput {
        StageInput {
            id: None,
            name: name.into(),
            name_en: None,
            probability,
        }
    }

    fn pipeline(stages: Vec<StageInput>) -> PipelineInput {
        PipelineInput {
            name: "  فروش   سازمانی ".into(),
            name_en: Some(" ".into()),
            stuck_after_days: 14,
            is_default: false,
            stages,
        }
    }

    #[test]
    fn pipelines_are_tidied() {
        let input = pipeline(vec![stage(" تماس  اول ", 10), stage("مذاکره", 70)])
            .validated()
            .unwrap();
        assert_eq!(input.name, "فروش سازمانی");
        assert_eq!(input.name_en, None);
        assert_eq!(input.stages[0].name, "تماس اول");
    }

    #[test]
    fn every_broken_pipeline_rule_is_reported() {
        let id = Uuid::now_v7();
        let mut input = pipeline(vec![
            StageInput {
                id: Some(id),
                ..stage("مذاکره", 101)
            },
            StageInput {
                id: Some(id),
                ..stage(" مذاكره", -1)
            },
            stage("Won", 50),
            stage("a\nb", 5),
        ]);
        input.name = " ".into();
        input.stuck_after_days = 0;
        let fields: Vec<String> = input
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(
            fields,
            vec![
                "name:required",
                "stuck_after_days:out_of_range",
                "stages[0].probability:out_of_range",
                "stages[1].probability:out_of_range",
                "stages[1].id:duplicate",
                // Arabic kaf and yeh are the Persian letters: the same name.
                "stages[1].name:duplicate",
                "stages[2].name:duplicate",
                "stages[3].name:line_break",
            ]
        );
        let fields: Vec<String> = pipeline(Vec::new())
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| format!("{}:{}", v.field, v.code))
            .collect();
        assert_eq!(fields, vec!["stages:invalid_length"]);
    }

    #[test]
    fn terminal_stages_are_certain() {
        assert_eq!(
            TERMINAL_STAGES.map(|stage| (stage.kind, stage.probability)),
            [(StageKind::Won, 100), (StageKind::Lost, 0)]
        );
        assert!(StageKind::Won.is_closed() && StageKind::Lost.is_closed());
        assert!(!StageKind::Open.is_closed());
    }
}
