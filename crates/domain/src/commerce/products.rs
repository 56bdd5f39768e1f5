//! The product catalogue: products with a unique SKU, a Persian and an optional English
//! name, a category, a unit price and cost (for profitability, A-5) in one currency;
//! and categories that form a tree.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::money::Currency;
use crate::persian::normalize_digits;
use crate::validation::{FieldViolation, Violations};

const MAX_SKU_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Deepest a category may sit below a root (a root is at depth 1).
pub const MAX_CATEGORY_DEPTH: usize = 8;

/// Everything a client writes on a product; also the document a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "sku": "TEA-500",
    "name": "چای سیاه ۵۰۰ گرمی",
    "name_en": "Black tea 500 g",
    "unit_price": 1_850_000,
    "unit_cost": 1_200_000,
    "currency": "IRR",
    "active": true
}))]
pub struct ProductInput {
    /// Stock-keeping unit, unique; Persian digits are stored as ASCII digits.
    pub sku: String,
    /// The product's name as customers know it (usually Persian).
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category_id: Option<Uuid>,
    /// Price of one unit in minor units of `currency` (whole rials for IRR).
    pub unit_price: i64,
    /// What one unit costs the business, in the same currency; for profitability.
    #[serde(default)]
    pub unit_cost: Option<i64>,
    /// Defaults to the business currency.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Inactive products cannot be ordered but stay on past orders.
    #[serde(default = "active_default")]
    pub active: bool,
    /// Values of the product custom fields (`/custom-fields` with `entity: product`) by
    /// key, checked against their definitions; `null` removes a value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

fn active_default() -> bool {
    true
}

impl ProductInput {
    /// The product in its stored form, or every broken rule. `currency` must be set
    /// (the use case fills in the business currency first).
    pub fn validated(mut self) -> Result<ProductInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("sku", &mut self.sku, MAX_SKU_CHARS);
        self.sku = normalize_digits(&self.sku);
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.tidy_line("name_en", &mut self.name_en, MAX_NAME_CHARS);
        v.tidy_text("description", &mut self.description, MAX_DESCRIPTION_CHARS);
        if self.unit_price < 0 {
            v.push("unit_price", "negative", "must be zero or more");
        }
        if self.unit_cost.is_some_and(|cost| cost < 0) {
            v.push("unit_cost", "negative", "must be zero or more");
        }
        if self.currency.is_none() {
            v.push("currency", "required", "must be an ISO 4217 code");
        }
        v.into_result().map(|()| self)
    }
}

/// A category of the catalogue; `parent_id` places it in the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "نوشیدنی", "parent_id": null}))]
pub struct ProductCategoryInput {
    /// Unique among its siblings, compared after Persian normalisation.
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

impl ProductCategoryInput {
    pub fn validated(mut self) -> Result<ProductCategoryInput, Vec<FieldViolation>> {
        let mut v = Violations::default();
        v.required_line("name", &mut self.name, MAX_NAME_CHARS);
        v.into_result().map(|()| self)
    }
}

/// Why placing `category` under `parent` would break the tree, given the chain of
/// ancestors of `parent` (nearest first, `parent` itself included). `None` when it fits.
pub fn check_category_parent(
    category: Option<Uuid>,
    ancestors_of_parent: &[Uuid],
    depth_below_category: usize,
) -> Option<FieldViolation> {
    if let Some(category) = category {
        if ancestors_of_parent.contains(&category) {
            return Some(FieldViolation::new(
                "parent_id",
                "cycle",
                "must not be the category itself or one of its descendants",
            ));
        }
    }
    if ancestors_of_parent.len() + 1 + depth_below_category > MAX_CATEGORY_DEPTH {
        return Some(FieldViolation::new(
            "parent_id",
            "too_deep",
            format!("categories nest at most {MAX_CATEGORY_DEPTH} levels"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tea() -> ProductInput {
        ProductInput {
            custom_fields: Default::default(),
            sku: " TEA-۵۰۰ ".into(),
            name: "  چای   سیاه ".into(),
            name_en: Some(" ".into()),
            description: None,
            category_id: None,
            unit_price: 1_850_000,
            unit_cost: Some(1_200_000),
            currency: Some(Currency::IRR),
            active: true,
        }
    }

    #[test]
    fn products_are_tidied() {
        let product = tea().validated().unwrap();
        assert_eq!(product.sku, "TEA-500");
        assert_eq!(product.name, "چای سیاه");
        assert_eq!(product.name_en, None);
    }

    #[test]
    fn broken_product_rules_are_all_reported() {
        let mut product = tea();
        product.sku = "A\u{0}".into();
        product.name = " ".into();
        product.unit_price = -1;
        product.unit_cost = Some(-5);
        product.currency = None;
        let fields: Vec<(String, String)> = product
            .validated()
            .unwrap_err()
            .into_iter()
            .map(|v| (v.field, v.code))
            .collect();
        let expected = [
            ("sku", "nul_character"),
            ("name", "required"),
            ("unit_price", "negative"),
            ("unit_cost", "negative"),
            ("currency", "required"),
        ];
        for (field, code) in expected {
            assert!(
                fields.contains(&(field.into(), code.into())),
                "{field} {code} in {fields:?}"
            );
        }
    }

    #[test]
    fn the_category_tree_has_no_cycles_and_a_depth_limit() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        // Moving a under c, whose ancestors are c, b, a: a cycle.
        assert_eq!(
            check_category_parent(Some(a), &[c, b, a], 0).unwrap().code,
            "cycle"
        );
        assert_eq!(
            check_category_parent(Some(a), &[a], 0).unwrap().code,
            "cycle"
        );
        assert!(check_category_parent(Some(c), &[b, a], 0).is_none());
        let chain: Vec<Uuid> = (0..MAX_CATEGORY_DEPTH - 1)
            .map(|_| Uuid::now_v7())
            .collect();
        assert!(check_category_parent(None, &chain, 0).is_none());
        assert_eq!(
            check_category_parent(None, &chain, 1).unwrap().code,
            "too_deep"
        );
    }
}
