//! Service-quality expectation surveys (F-3): SERVQUAL in its three-column form.
//!
//! SERVQUAL (Parasuraman, Zeithaml & Berry 1988) measures service quality on five
//! dimensions with 22 statements. The three-column format (Parasuraman, Zeithaml &
//! Berry 1994) asks of each statement three ratings on one 1-to-9 scale: the level of
//! service the customer *desires* (what can and should be), the *adequate* level (the
//! least they will accept without complaint) and the level they *perceive* the company
//! gives. Between adequate and desired lies the zone of tolerance: the variation in a
//! service from one employee or one day to the next that customers are willing to
//! accept. Two gaps follow from it:
//!
//! - measure of service adequacy, MSA = perceived − adequate (negative: below the zone,
//!   the customer is let down);
//! - measure of service superiority, MSS = perceived − desired (positive: above the
//!   zone, the customer is delighted).
//!
//! The customer also rates how much each of the factors that shape expectations
//! (prior experience, word of mouth, price, their own striving for excellence,
//! personal needs, the company's image, and
//! what the company promised outright or implied) shaped theirs, so that a gap can be
//! read against where the expectation came from.
//!
//! The statements in [`STANDARD_ITEMS`] are the positively worded 22 of the 1991
//! revision (Parasuraman, Berry & Zeithaml 1991), addressed to "the company"; they are
//! a template that a business edits, not a fixed instrument, so stored answers key on
//! [`StandardItem::key`] rather than on the wording.
//!
//! References: A. Parasuraman, V. A. Zeithaml, L. L. Berry, "SERVQUAL: a multiple-item
//! scale for measuring consumer perceptions of service quality", Journal of Retailing
//! 64(1), 1988; A. Parasuraman, L. L. Berry, V. A. Zeithaml, "Refinement and
//! reassessment of the SERVQUAL scale", Journal of Retailing 67(4), 1991;
//! A. Parasuraman, V. A. Zeithaml, L. L. Berry, "Alternative scales for measuring
//! service quality: a comparative assessment based on psychometric and diagnostic
//! criteria", Journal of Retailing 70(3), 1994; V. A. Zeithaml, L. L. Berry,
//! A. Parasuraman, "The nature and determinants of customer expectations of service",
//! Journal of the Academy of Marketing Science 21(1), 1993 (the expectation factors).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::snake_names;
use crate::reports::round2;
use crate::validation::Violations;

/// The lowest rating of the three columns. The 1994 three-column format uses a 1-to-9
/// scale (the 1988 instrument used 1 to 7): nine points leave room for a zone of
/// tolerance between the adequate and desired levels.
pub const SCALE_MIN: i32 = 1;
/// The highest rating of the three columns.
pub const SCALE_MAX: i32 = 9;

/// How little a factor shaped the customer's expectations: 1 is "not at all".
pub const FACTOR_MIN: i32 = 1;
/// How much a factor shaped the customer's expectations: 7 is "very much".
pub const FACTOR_MAX: i32 = 7;

/// The five dimensions of service quality.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Physical facilities, equipment and the appearance of personnel.
    Tangibles,
    /// Performing the promised service dependably and accurately.
    Reliability,
    /// Willingness to help customers and give prompt service.
    Responsiveness,
    /// Knowledge and courtesy of employees and their ability to inspire trust.
    Assurance,
    /// Caring, individual attention to each customer.
    Empathy,
}

snake_names!(Dimension {
    Tangibles => "tangibles",
    Reliability => "reliability",
    Responsiveness => "responsiveness",
    Assurance => "assurance",
    Empathy => "empathy",
});

impl Dimension {
    /// The dimension's name in Persian, as a report shows it.
    pub fn label_fa(self) -> &'static str {
        match self {
            Dimension::Tangibles => "عوامل ملموس",
            Dimension::Reliability => "قابلیت اطمینان",
            Dimension::Responsiveness => "پاسخ‌گویی",
            Dimension::Assurance => "اطمینان‌بخشی",
            Dimension::Empathy => "همدلی",
        }
    }

    /// The dimension's name in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Dimension::Tangibles => "Tangibles",
            Dimension::Reliability => "Reliability",
            Dimension::Responsiveness => "Responsiveness",
            Dimension::Assurance => "Assurance",
            Dimension::Empathy => "Empathy",
        }
    }
}

/// One statement of the standard questionnaire, in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct StandardItem {
    /// Stable key, `{dimension}_{n}`: what answers are stored under, so that editing a
    /// statement's wording keeps its history.
    pub key: &'static str,
    pub dimension: Dimension,
    pub en: &'static str,
    pub fa: &'static str,
}

const fn item(
    key: &'static str,
    dimension: Dimension,
    en: &'static str,
    fa: &'static str,
) -> StandardItem {
    StandardItem {
        key,
        dimension,
        en,
        fa,
    }
}

/// The 22 statements of the revised SERVQUAL (1991), in their original order:
/// tangibles 1–4, reliability 5–9, responsiveness 10–13, assurance 14–17, empathy
/// 18–22.
pub const STANDARD_ITEMS: [StandardItem; 22] = [
    item(
        "tangibles_1",
        Dimension::Tangibles,
        "The company has modern-looking equipment.",
        "شرکت تجهیزاتی مدرن و به‌روز دارد.",
    ),
    item(
        "tangibles_2",
        Dimension::Tangibles,
        "The company's physical facilities are visually appealing.",
        "ساختمان و امکانات فیزیکی شرکت ظاهری چشم‌نواز دارد.",
    ),
    item(
        "tangibles_3",
        Dimension::Tangibles,
        "The company's employees are neat-appearing.",
        "کارکنان شرکت ظاهری آراسته و مرتب دارند.",
    ),
    item(
        "tangibles_4",
        Dimension::Tangibles,
        "Materials associated with the service (such as pamphlets or statements) are \
         visually appealing at the company.",
        "مطالب و مدارک مربوط به خدمات شرکت (مانند بروشورها و صورت‌حساب‌ها) ظاهری \
         چشم‌نواز دارند.",
    ),
    item(
        "reliability_1",
        Dimension::Reliability,
        "When the company promises to do something by a certain time, it does so.",
        "وقتی شرکت قول می‌دهد کاری را تا زمان مشخصی انجام دهد، آن را انجام می‌دهد.",
    ),
    item(
        "reliability_2",
        Dimension::Reliability,
        "When you have a problem, the company shows a sincere interest in solving it.",
        "وقتی مشکلی دارید، شرکت صادقانه برای حل آن اهتمام نشان می‌دهد.",
    ),
    item(
        "reliability_3",
        Dimension::Reliability,
        "The company performs the service right the first time.",
        "شرکت خدمات را از همان بار اول درست انجام می‌دهد.",
    ),
    item(
        "reliability_4",
        Dimension::Reliability,
        "The company provides its services at the time it promises to do so.",
        "شرکت خدماتش را در همان زمانی که وعده داده است ارائه می‌کند.",
    ),
    item(
        "reliability_5",
        Dimension::Reliability,
        "The company insists on error-free records.",
        "شرکت بر ثبت بی‌خطای سوابق و اسناد تأکید دارد.",
    ),
    item(
        "responsiveness_1",
        Dimension::Responsiveness,
        "Employees of the company tell you exactly when services will be performed.",
        "کارکنان شرکت دقیقاً به شما می‌گویند خدمات چه زمانی انجام می‌شود.",
    ),
    item(
        "responsiveness_2",
        Dimension::Responsiveness,
        "Employees of the company give you prompt service.",
        "کارکنان شرکت بی‌درنگ به شما خدمت می‌کنند.",
    ),
    item(
        "responsiveness_3",
        Dimension::Responsiveness,
        "Employees of the company are always willing to help you.",
        "کارکنان شرکت همیشه آمادهٔ کمک به شما هستند.",
    ),
    item(
        "responsiveness_4",
        Dimension::Responsiveness,
        "Employees of the company are never too busy to respond to your requests.",
        "کارکنان شرکت هیچ‌وقت آن‌قدر سرشان شلوغ نیست که به درخواست‌های شما پاسخ ندهند.",
    ),
    item(
        "assurance_1",
        Dimension::Assurance,
        "The behavior of employees of the company instills confidence in you.",
        "رفتار کارکنان شرکت به شما اطمینان خاطر می‌دهد.",
    ),
    item(
        "assurance_2",
        Dimension::Assurance,
        "You feel safe in your transactions with the company.",
        "در معاملات خود با شرکت احساس امنیت می‌کنید.",
    ),
    item(
        "assurance_3",
        Dimension::Assurance,
        "Employees of the company are consistently courteous with you.",
        "کارکنان شرکت همواره با شما مؤدبانه رفتار می‌کنند.",
    ),
    item(
        "assurance_4",
        Dimension::Assurance,
        "Employees of the company have the knowledge to answer your questions.",
        "کارکنان شرکت دانش لازم برای پاسخ به پرسش‌های شما را دارند.",
    ),
    item(
        "empathy_1",
        Dimension::Empathy,
        "The company gives you individual attention.",
        "شرکت به شما توجهی فردی و جداگانه دارد.",
    ),
    item(
        "empathy_2",
        Dimension::Empathy,
        "The company has operating hours convenient to all its customers.",
        "ساعت‌های کاری شرکت برای همهٔ مشتریانش مناسب است.",
    ),
    item(
        "empathy_3",
        Dimension::Empathy,
        "The company has employees who give you personal attention.",
        "شرکت کارکنانی دارد که شخصاً به شما رسیدگی می‌کنند.",
    ),
    item(
        "empathy_4",
        Dimension::Empathy,
        "The company has your best interests at heart.",
        "شرکت از صمیم قلب خیر و صلاح شما را می‌خواهد.",
    ),
    item(
        "empathy_5",
        Dimension::Empathy,
        "Employees of the company understand your specific needs.",
        "کارکنان شرکت نیازهای خاص شما را درک می‌کنند.",
    ),
];

/// A customer's three ratings of one statement, each from [`SCALE_MIN`] to
/// [`SCALE_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"desired": 8, "adequate": 5, "perceived": 6}))]
pub struct ItemAnswer {
    /// The level of service the customer wants.
    pub desired: i32,
    /// The least level of service the customer will accept.
    pub adequate: i32,
    /// The level of service the customer believes the company gives.
    pub perceived: i32,
}

impl ItemAnswer {
    /// Reports each rating outside the scale as `{field}.desired`, `{field}.adequate`
    /// or `{field}.perceived` with the code `out_of_range`.
    ///
    /// An adequate level above the desired one is accepted: respondents do give such
    /// answers, and rejecting them would lose the perceived rating with them. They are
    /// counted instead, through [`ItemAnswer::is_inverted`].
    pub fn check(&self, v: &mut Violations, field: &str) {
        for (column, rating) in [
            ("desired", self.desired),
            ("adequate", self.adequate),
            ("perceived", self.perceived),
        ] {
            if !(SCALE_MIN..=SCALE_MAX).contains(&rating) {
                v.push(
                    format!("{field}.{column}"),
                    "out_of_range",
                    format!("must be between {SCALE_MIN} and {SCALE_MAX}"),
                );
            }
        }
    }

    /// Whether the adequate level is above the desired one, which leaves no zone of
    /// tolerance. A high share of such answers says the questionnaire was misread.
    pub fn is_inverted(&self) -> bool {
        self.adequate > self.desired
    }
}

/// What shapes a customer's expectations of a service (Zeithaml, Berry & Parasuraman
/// 1993, and the factors of the expectation model: prior experience, recommendations,
/// price, the striving for excellence, personal needs and the company's image).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExpectationFactor {
    /// What the customer met before, with this company and with its competitors.
    PriorExperience,
    /// What others told them: friends, family, reviews, advisers.
    WordOfMouth,
    /// What the service costs: a higher price raises what is expected.
    Price,
    /// The customer's own standard of excellent service, which raises what they
    /// expect of every provider (the striving for excellence, تعالی‌جویی; Zeithaml's
    /// enduring service intensifiers).
    StrivingForExcellence,
    /// The customer's own physical, social, psychological and functional needs.
    PersonalNeeds,
    /// The picture the customer has of the company.
    CompanyImage,
    /// What the company said it would do: advertising, sales talk, contracts.
    ExplicitPromises,
    /// What the company suggests without saying it: its premises, equipment and the
    /// look of what it sends.
    ImplicitPromises,
}

snake_names!(ExpectationFactor {
    PriorExperience => "prior_experience",
    WordOfMouth => "word_of_mouth",
    Price => "price",
    StrivingForExcellence => "striving_for_excellence",
    PersonalNeeds => "personal_needs",
    CompanyImage => "company_image",
    ExplicitPromises => "explicit_promises",
    ImplicitPromises => "implicit_promises",
});

impl ExpectationFactor {
    /// The factor as the customer reads it in Persian.
    pub fn label_fa(self) -> &'static str {
        match self {
            ExpectationFactor::PriorExperience => "تجربهٔ قبلی شما از این شرکت و شرکت‌های مشابه",
            ExpectationFactor::WordOfMouth => "توصیه‌ها و گفته‌های دیگران",
            ExpectationFactor::Price => "قیمت خدمات",
            ExpectationFactor::StrivingForExcellence => "معیار شخصی شما از خدمت عالی (تعالی‌جویی)",
            ExpectationFactor::PersonalNeeds => "نیازهای شخصی شما",
            ExpectationFactor::CompanyImage => "تصویری که از شرکت در ذهن دارید",
            ExpectationFactor::ExplicitPromises => {
                "وعده‌های صریح شرکت (تبلیغات، گفته‌های فروشنده، قرارداد)"
            }
            ExpectationFactor::ImplicitPromises => {
                "آنچه ظاهر، امکانات و رفتار شرکت به‌طور ضمنی وعده می‌دهد"
            }
        }
    }

    /// The factor as the customer reads it in English.
    pub fn label_en(self) -> &'static str {
        match self {
            ExpectationFactor::PriorExperience => {
                "Your past experience with this company and similar ones"
            }
            ExpectationFactor::WordOfMouth => "What others have told you",
            ExpectationFactor::Price => "The price of the service",
            ExpectationFactor::StrivingForExcellence => "Your own standard of excellent service",
            ExpectationFactor::PersonalNeeds => "Your personal needs",
            ExpectationFactor::CompanyImage => "The picture you have of the company",
            ExpectationFactor::ExplicitPromises => {
                "What the company promised (advertising, sales staff, contract)"
            }
            ExpectationFactor::ImplicitPromises => {
                "What the company's premises, equipment and manner suggest"
            }
        }
    }
}

/// Reports a factor rating outside [`FACTOR_MIN`]..=[`FACTOR_MAX`] on `field` with the
/// code `out_of_range`.
pub fn check_factor(v: &mut Violations, field: &str, rating: i32) {
    if !(FACTOR_MIN..=FACTOR_MAX).contains(&rating) {
        v.push(
            field,
            "out_of_range",
            format!("must be between {FACTOR_MIN} and {FACTOR_MAX}"),
        );
    }
}

/// Where the perceived service falls against the zone of tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZonePosition {
    /// Below the adequate level: the customer is let down.
    Below,
    /// Between the adequate and the desired level.
    Within,
    /// Above the desired level: the customer is delighted.
    Above,
}

snake_names!(ZonePosition {
    Below => "below",
    Within => "within",
    Above => "above",
});

/// Where `perceived` falls against the zone of tolerance from `adequate` to
/// `desired`: below when under the adequate level, above when over the desired level,
/// within otherwise (the bounds belong to the zone).
///
/// When `adequate > desired` the zone, read literally, is empty and every perception
/// would be below or above it, or both. The zone is then taken as running from the
/// lower of the two to the higher: an inversion is most often the two columns read
/// the wrong way round, and this reading puts such an answer where the customer most
/// likely meant it. [`Gaps::tolerance_width`] stays negative, so the inversion remains
/// visible.
pub fn zone_position(desired: f64, adequate: f64, perceived: f64) -> ZonePosition {
    let (low, high) = if adequate <= desired {
        (adequate, desired)
    } else {
        (desired, adequate)
    };
    if perceived < low {
        ZonePosition::Below
    } else if perceived > high {
        ZonePosition::Above
    } else {
        ZonePosition::Within
    }
}

/// The mean levels and gaps of a group of answers: one statement, a dimension, a
/// customer, a segment or a period, as the query that summed them grouped them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Gaps {
    /// Mean desired level.
    pub desired: f64,
    /// Mean adequate level.
    pub adequate: f64,
    /// Mean perceived level.
    pub perceived: f64,
    /// Measure of service adequacy, perceived − adequate: negative when the service
    /// falls short of what the customers accept.
    pub adequacy: f64,
    /// Measure of service superiority, perceived − desired: positive when the service
    /// exceeds what they want.
    pub superiority: f64,
    /// Width of the zone of tolerance, desired − adequate; negative when the answers
    /// put the adequate level above the desired one.
    pub tolerance_width: f64,
    /// Where the mean perception falls against the mean zone.
    pub position: ZonePosition,
    /// Number of item answers summed (one per statement answered).
    pub answers: i64,
}

/// The gaps from the database's sums over `answers` item answers; `None` without any.
///
/// The gaps and the position are taken from the unrounded means, then every figure is
/// rounded to two decimals, so a gap may differ by 0.01 from the difference of the
/// rounded means shown beside it.
pub fn gaps_from_sums(
    answers: i64,
    desired_sum: i64,
    adequate_sum: i64,
    perceived_sum: i64,
) -> Option<Gaps> {
    if answers <= 0 {
        return None;
    }
    let n = answers as f64;
    let desired = desired_sum as f64 / n;
    let adequate = adequate_sum as f64 / n;
    let perceived = perceived_sum as f64 / n;
    Some(Gaps {
        desired: round2(desired),
        adequate: round2(adequate),
        perceived: round2(perceived),
        adequacy: round2(perceived - adequate),
        superiority: round2(perceived - desired),
        tolerance_width: round2(desired - adequate),
        position: zone_position(desired, adequate, perceived),
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn gaps_of_two_dimensions_by_hand() {
        // Three customers answered one reliability and one empathy statement.
        // Reliability (D, A, P): (8, 6, 4), (9, 7, 5), (7, 5, 3).
        //   sums 24, 18, 12 → means 8, 6, 4; MSA = 4 − 6 = −2, MSS = 4 − 8 = −4,
        //   width 2; perceived 4 < adequate 6 → below.
        let reliability = gaps_from_sums(3, 24, 18, 12).expect("answers");
        assert_eq!(reliability.desired, 8.0);
        assert_eq!(reliability.adequate, 6.0);
        assert_eq!(reliability.perceived, 4.0);
        assert_eq!(reliability.adequacy, -2.0);
        assert_eq!(reliability.superiority, -4.0);
        assert_eq!(reliability.tolerance_width, 2.0);
        assert_eq!(reliability.position, ZonePosition::Below);
        assert_eq!(reliability.answers, 3);
        // Empathy: (7, 4, 6), (8, 5, 6), (8, 4, 7).
        //   sums 23, 13, 19 → means 7.666…, 4.333…, 6.333…;
        //   MSA = 19/3 − 13/3 = 2, MSS = 19/3 − 23/3 = −1.333… → −1.33,
        //   width 10/3 → 3.33; 4.33 ≤ 6.33 ≤ 7.67 → within.
        let empathy = gaps_from_sums(3, 23, 13, 19).expect("answers");
        assert_eq!(empathy.desired, 7.67);
        assert_eq!(empathy.adequate, 4.33);
        assert_eq!(empathy.perceived, 6.33);
        assert_eq!(empathy.adequacy, 2.0);
        assert_eq!(empathy.superiority, -1.33);
        assert_eq!(empathy.tolerance_width, 3.33);
        assert_eq!(empathy.position, ZonePosition::Within);
        // Both dimensions pooled: sums 47, 31, 31 over 6 → perceived = adequate
        // = 5.17, on the zone's lower bound, which belongs to the zone.
        let pooled = gaps_from_sums(6, 47, 31, 31).expect("answers");
        assert_eq!(pooled.adequacy, 0.0);
        assert_eq!(pooled.superiority, -2.67);
        assert_eq!(pooled.position, ZonePosition::Within);
        // One delighted answer: (6, 3, 8) → MSS = +2, above.
        let above = gaps_from_sums(1, 6, 3, 8).expect("answers");
        assert_eq!(above.superiority, 2.0);
        assert_eq!(above.adequacy, 5.0);
        assert_eq!(above.position, ZonePosition::Above);
        assert_eq!(gaps_from_sums(0, 0, 0, 0), None);
    }

    #[test]
    fn the_zone_and_its_inverted_case() {
        assert_eq!(zone_position(8.0, 5.0, 4.99), ZonePosition::Below);
        assert_eq!(zone_position(8.0, 5.0, 5.0), ZonePosition::Within);
        assert_eq!(zone_position(8.0, 5.0, 8.0), ZonePosition::Within);
        assert_eq!(zone_position(8.0, 5.0, 8.01), ZonePosition::Above);
        // Adequate 7 above desired 5: the zone is read as [5, 7].
        assert_eq!(zone_position(5.0, 7.0, 6.0), ZonePosition::Within);
        assert_eq!(zone_position(5.0, 7.0, 4.0), ZonePosition::Below);
        assert_eq!(zone_position(5.0, 7.0, 8.0), ZonePosition::Above);
        let inverted = gaps_from_sums(1, 5, 7, 6).expect("answer");
        assert_eq!(inverted.tolerance_width, -2.0);
        assert_eq!(inverted.position, ZonePosition::Within);
        let answer = ItemAnswer {
            desired: 5,
            adequate: 7,
            perceived: 6,
        };
        assert!(answer.is_inverted());
        assert!(!ItemAnswer {
            adequate: 5,
            ..answer
        }
        .is_inverted());
    }

    #[test]
    fn answers_out_of_scale_name_their_field() {
        let mut v = Violations::default();
        ItemAnswer {
            desired: 10,
            adequate: 0,
            perceived: 9,
        }
        .check(&mut v, "items[3]");
        ItemAnswer {
            desired: 9,
            adequate: 1,
            perceived: -1,
        }
        .check(&mut v, "items[4]");
        // Inverted but in range: no violation.
        ItemAnswer {
            desired: 2,
            adequate: 8,
            perceived: 5,
        }
        .check(&mut v, "items[5]");
        check_factor(&mut v, "factors.price", 8);
        check_factor(&mut v, "factors.word_of_mouth", 0);
        check_factor(&mut v, "factors.prior_experience", 1);
        check_factor(&mut v, "factors.company_image", 7);
        let got: Vec<String> =
            v.0.iter()
                .map(|f| format!("{}:{}", f.field, f.code))
                .collect();
        assert_eq!(
            got,
            [
                "items[3].desired:out_of_range",
                "items[3].adequate:out_of_range",
                "items[4].perceived:out_of_range",
                "factors.price:out_of_range",
                "factors.word_of_mouth:out_of_range",
            ]
        );
        assert_eq!(v.0[0].message, "must be between 1 and 9");
        assert_eq!(v.0[3].message, "must be between 1 and 7");
    }

    #[test]
    fn answers_reject_unknown_fields() {
        let ok: ItemAnswer =
            serde_json::from_str(r#"{"desired": 8, "adequate": 5, "perceived": 6}"#)
                .expect("valid");
        assert_eq!(
            ok,
            ItemAnswer {
                desired: 8,
                adequate: 5,
                perceived: 6
            }
        );
        assert!(serde_json::from_str::<ItemAnswer>(
            r#"{"desired": 8, "adequate": 5, "perceived": 6, "expected": 7}"#
        )
        .is_err());
    }

    #[test]
    fn twenty_two_items_in_five_dimensions() {
        let count = |d: Dimension| STANDARD_ITEMS.iter().filter(|i| i.dimension == d).count();
        assert_eq!(
            Dimension::ALL.iter().map(|&d| count(d)).collect::<Vec<_>>(),
            [4, 5, 4, 4, 5]
        );
        // In the original order, and keyed by dimension and position within it.
        let mut seen = HashSet::new();
        let mut within = 0;
        let mut previous = None;
        for item in STANDARD_ITEMS {
            assert!(seen.insert(item.key), "duplicate key {}", item.key);
            assert!(
                previous <= Some(item.dimension),
                "{} out of order",
                item.key
            );
            within = if previous == Some(item.dimension) {
                within + 1
            } else {
                1
            };
            previous = Some(item.dimension);
            assert_eq!(
                item.key,
                format!("{}_{within}", item.dimension.as_str()),
                "key"
            );
            assert!(
                item.en.to_lowercase().contains("the company"),
                "{}",
                item.key
            );
        }
    }

    /// Persian text: some letters, all of them Persian-script, with the Persian forms
    /// of yeh and kaf (never the Arabic ones keyboards sometimes produce) and no
    /// Latin letters.
    fn assert_persian(text: &str) {
        let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
        assert!(!letters.is_empty(), "empty: {text:?}");
        for c in letters {
            assert!(
                ('\u{0600}'..='\u{06FF}').contains(&c),
                "{c:?} is not Persian script in {text:?}"
            );
            assert!(c != 'ي' && c != 'ك', "Arabic yeh or kaf in {text:?}");
        }
        assert!(!text.contains("  "), "double space in {text:?}");
    }

    #[test]
    fn every_persian_text_is_persian() {
        for item in STANDARD_ITEMS {
            assert_persian(item.fa);
            assert!(!item.en.is_empty());
        }
        for &d in Dimension::ALL {
            assert_persian(d.label_fa());
            assert!(!d.label_en().is_empty());
        }
        for &f in ExpectationFactor::ALL {
            assert_persian(f.label_fa());
            assert!(!f.label_en().is_empty());
        }
        // The verb prefix is joined with a zero-width non-joiner, not a space.
        assert!(STANDARD_ITEMS[4].fa.contains("می\u{200c}دهد"));
        assert!(!STANDARD_ITEMS.iter().any(|i| i.fa.contains("می ")));
    }

    #[test]
    fn names_round_trip() {
        for &d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.as_str()), Some(d));
            assert_eq!(
                serde_json::to_value(d).expect("json"),
                serde_json::json!(d.as_str())
            );
        }
        for &f in ExpectationFactor::ALL {
            assert_eq!(ExpectationFactor::parse(f.as_str()), Some(f));
            assert_eq!(
                serde_json::to_value(f).expect("json"),
                serde_json::json!(f.as_str())
            );
        }
        assert_eq!(ExpectationFactor::ALL.len(), 8);
        assert_eq!(ZonePosition::parse("within"), Some(ZonePosition::Within));
    }
}
