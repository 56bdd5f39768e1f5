//! Customers (C-1..C-9) in storage: the `customers` row with its derived search text and
//! keys, and the rows that hang off it (phones, e-mails, addresses, custom values,
//! tags and groups). A customer is always read and written whole through
//! [`CustomerRecord`], inside the caller's transaction.

pub mod duplicates;
pub mod engagement;
pub mod erasure;
pub mod history;
pub mod matching;
pub mod merges;
pub mod search;
pub mod sentiment;

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use domain::customers::{
    AddressInput, CustomValue, CustomerInput, CustomerKind, EducationDegree, EmailInput, Gender,
    LifecycleStage, PhoneInput, PhoneType,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::DbConnection;
use crate::schema::{
    customer_addresses, customer_custom_values, customer_emails, customer_labels, customer_phones,
    customers, labels,
};
use crate::scores::{
    ChurnScore, ClusterScore, ClvScores, CustomerScores, Recommendations, RfmScores,
};
use crate::sql_types::{DbJson, DbTime, DbUuid};
use crate::PersistenceError;

const DUPLICATE_CODE: &str = "a customer with this code already exists";

/// Rows per multi-row `INSERT`: SQLite allows 32,766 bound values per statement and a
/// customers row has 43 columns.
const CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CustomerRow {
    pub id: DbUuid,
    pub kind: String,
    pub code: Option<String>,
    pub display_name: String,
    pub title: Option<String>,
    pub gender: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub organization_name: Option<String>,
    pub industry: Option<String>,
    pub website: Option<String>,
    pub primary_email: Option<String>,
    pub primary_phone: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub national_code: Option<String>,
    pub national_id: Option<String>,
    pub birth_certificate_number: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub marriage_date: Option<NaiveDate>,
    pub founding_date: Option<NaiveDate>,
    pub field_of_study: Option<String>,
    pub degree: Option<String>,
    pub owner_id: Option<DbUuid>,
    pub team_id: Option<DbUuid>,
    pub tier_id: Option<DbUuid>,
    pub lifecycle_stage: String,
    pub lifecycle_changed_at: DbTime,
    pub acquisition_source: Option<String>,
    pub acquisition_channel: Option<String>,
    pub acquisition_campaign: Option<String>,
    pub referred_by_customer_id: Option<DbUuid>,
    pub referred_by_user_id: Option<DbUuid>,
    pub custom_fields: DbJson,
    pub search_text: String,
    pub name_key: Option<String>,
    pub erased_at: Option<DbTime>,
    pub merged_into_id: Option<DbUuid>,
    pub created_by: Option<DbUuid>,
    pub created_at: DbTime,
    pub updated_at: DbTime,
    pub version: i64,
    // The purchase facts are read with the row (to show and sort by them) but never
    // written through it: only `orders::refresh_facts` sets them, under the customer's
    // lock, so a profile change made from an older read cannot overwrite them.
    #[diesel(skip_insertion, skip_update)]
    pub order_count: i64,
    #[diesel(skip_insertion, skip_update)]
    pub revenue: i64,
    #[diesel(skip_insertion, skip_update)]
    pub first_order_at: Option<DbTime>,
    #[diesel(skip_insertion, skip_update)]
    pub last_order_at: Option<DbTime>,
    // Scores, likewise read with the row and written only by model runs
    // (`crate::scores`).
    #[diesel(skip_insertion, skip_update)]
    pub rfm_run_id: Option<DbUuid>,
    #[diesel(skip_insertion, skip_update)]
    pub rfm_recency: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub rfm_frequency: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub rfm_monetary: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub rfm_segment: Option<String>,
    #[diesel(skip_insertion, skip_update)]
    pub clv_run_id: Option<DbUuid>,
    #[diesel(skip_insertion, skip_update)]
    pub p_alive: Option<f64>,
    #[diesel(skip_insertion, skip_update)]
    pub expected_purchases: Option<f64>,
    #[diesel(skip_insertion, skip_update)]
    pub expected_spend: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub clv: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub cluster_run_id: Option<DbUuid>,
    #[diesel(skip_insertion, skip_update)]
    pub cluster: Option<i64>,
    #[diesel(skip_insertion, skip_update)]
    pub churn_run_id: Option<DbUuid>,
    #[diesel(skip_insertion, skip_update)]
    pub churn_risk: Option<f64>,
    #[diesel(skip_insertion, skip_update)]
    pub churn_drivers: Option<DbJson>,
    #[diesel(skip_insertion, skip_update)]
    pub cross_sell_run_id: Option<DbUuid>,
    #[diesel(skip_insertion, skip_update)]
    pub recommendations: Option<DbJson>,
}

/// A customer's purchase facts: its purchases (orders paid, fulfilled or partly
/// returned) counted and summed, kept on the customer's row by
/// `orders::refresh_facts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurchaseFacts {
    pub order_count: i64,
    /// Σ (total − refunded) over purchases, in the business currency.
    pub revenue: i64,
    pub first_order_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_order_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_phones, treat_none_as_default_value = false)]
pub struct PhoneRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub number: String,
    pub kind: String,
    pub label: Option<String>,
    pub is_primary: bool,
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_emails, treat_none_as_default_value = false)]
pub struct EmailRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub address: String,
    pub label: Option<String>,
    pub is_primary: bool,
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_addresses, treat_none_as_default_value = false)]
pub struct AddressRow {
    pub id: DbUuid,
    pub customer_id: DbUuid,
    pub label: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub line: Option<String>,
    pub postal_code: Option<String>,
    pub po_box: Option<String>,
    pub is_primary: bool,
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_custom_values, treat_none_as_default_value = false)]
pub struct CustomValueRow {
    pub customer_id: DbUuid,
    pub field_key: String,
    pub text_value: Option<String>,
    pub int_value: Option<i64>,
    pub date_value: Option<NaiveDate>,
    pub bool_value: Option<bool>,
}

/// A customer with everything stored about its profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub row: CustomerRow,
    pub phones: Vec<PhoneRow>,
    pub emails: Vec<EmailRow>,
    pub addresses: Vec<AddressRow>,
    pub tag_ids: Vec<Uuid>,
    pub group_ids: Vec<Uuid>,
}

/// Stored state of a customer that the write path needs besides its input: when it
/// was created, by whom, its version, erasure and merge markers.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerMeta {
    pub id: Uuid,
    pub created_by: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub lifecycle_changed_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
    pub erased_at: Option<chrono::DateTime<chrono::Utc>>,
    pub merged_into_id: Option<Uuid>,
    /// As stored; carried into the record a change builds, never written by it.
    pub facts: PurchaseFacts,
    /// Likewise.
    pub scores: CustomerScores,
}

fn parse<T>(value: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, PersistenceError> {
    parse(value).ok_or_else(|| PersistenceError::Corrupt(format!("unknown {what} `{value}`")))
}

impl CustomerRecord {
    /// Builds the record of validated `input` with typed custom values `custom`.
    pub fn from_input(
        meta: &CustomerMeta,
        input: &CustomerInput,
        custom: &[(String, CustomValue)],
    ) -> CustomerRecord {
        let id = DbUuid(meta.id);
        let custom_json: Map<String, Value> = custom
            .iter()
            .map(|(key, value)| (key.clone(), value.to_json()))
            .collect();
        let custom_text = custom.iter().filter_map(|(_, value)| match value {
            CustomValue::Text(text) => Some(text.as_str()),
            _ => None,
        });
        let search_text = if meta.erased_at.is_some() {
            String::new()
        } else {
            domain::customers::search_text(input, custom_text)
        };
        let primary_address = input.addresses.iter().find(|a| a.primary);
        let row = CustomerRow {
            id,
            kind: input.kind.as_str().to_string(),
            code: input.code.clone(),
            display_name: domain::customers::display_name(input),
            title: input.title.clone(),
            gender: input.gender.map(|g| g.as_str().to_string()),
            first_name: input.first_name.clone(),
            last_name: input.last_name.clone(),
            organization_name: input.organization_name.clone(),
            industry: input.industry.clone(),
            website: input.website.clone(),
            primary_email: input
                .emails
                .iter()
                .find(|e| e.primary)
                .map(|e| e.address.clone()),
            primary_phone: input
                .phones
                .iter()
                .find(|p| p.primary)
                .map(|p| p.number.clone()),
            province: primary_address.and_then(|a| a.province.clone()),
            city: primary_address.and_then(|a| a.city.clone()),
            postal_code: primary_address.and_then(|a| a.postal_code.clone()),
            national_code: input.national_code.clone(),
            national_id: input.national_id.clone(),
            birth_certificate_number: input.birth_certificate_number.clone(),
            birth_date: input.birth_date,
            marriage_date: input.marriage_date,
            founding_date: input.founding_date,
            field_of_study: input.field_of_study.clone(),
            degree: input.degree.map(|d| d.as_str().to_string()),
            owner_id: input.owner_id.map(DbUuid),
            team_id: input.team_id.map(DbUuid),
            tier_id: input.tier_id.map(DbUuid),
            lifecycle_stage: input.lifecycle_stage.as_str().to_string(),
            lifecycle_changed_at: DbTime(meta.lifecycle_changed_at),
            acquisition_source: input.acquisition_source.clone(),
            acquisition_channel: input.acquisition_channel.clone(),
            acquisition_campaign: input.acquisition_campaign.clone(),
            referred_by_customer_id: input.referred_by_customer_id.map(DbUuid),
            referred_by_user_id: input.referred_by_user_id.map(DbUuid),
            custom_fields: DbJson(Value::Object(custom_json)),
            search_text,
            name_key: domain::customers::name_key_of(input),
            erased_at: meta.erased_at.map(DbTime),
            merged_into_id: meta.merged_into_id.map(DbUuid),
            created_by: meta.created_by.map(DbUuid),
            created_at: DbTime(meta.created_at),
            updated_at: DbTime(meta.updated_at),
            version: meta.version,
            order_count: meta.facts.order_count,
            revenue: meta.facts.revenue,
            first_order_at: meta.facts.first_order_at.map(DbTime),
            last_order_at: meta.facts.last_order_at.map(DbTime),
            rfm_run_id: meta.scores.rfm.as_ref().map(|rfm| DbUuid(rfm.run_id)),
            rfm_recency: meta.scores.rfm.as_ref().map(|rfm| rfm.recency),
            rfm_frequency: meta.scores.rfm.as_ref().map(|rfm| rfm.frequency),
            rfm_monetary: meta.scores.rfm.as_ref().map(|rfm| rfm.monetary),
            rfm_segment: meta.scores.rfm.as_ref().map(|rfm| rfm.segment.clone()),
            clv_run_id: meta.scores.clv.map(|clv| DbUuid(clv.run_id)),
            p_alive: meta.scores.clv.map(|clv| clv.p_alive),
            expected_purchases: meta.scores.clv.map(|clv| clv.expected_purchases),
            expected_spend: meta.scores.clv.map(|clv| clv.expected_spend),
            clv: meta.scores.clv.map(|clv| clv.clv),
            cluster_run_id: meta.scores.cluster.map(|cluster| DbUuid(cluster.run_id)),
            cluster: meta.scores.cluster.map(|cluster| cluster.cluster),
            churn_run_id: meta.scores.churn.as_ref().map(|churn| DbUuid(churn.run_id)),
            churn_risk: meta.scores.churn.as_ref().map(|churn| churn.risk),
            churn_drivers: meta
                .scores
                .churn
                .as_ref()
                .map(|churn| DbJson(churn.drivers.clone())),
            cross_sell_run_id: meta
                .scores
                .recommendations
                .as_ref()
                .map(|products| DbUuid(products.run_id)),
            recommendations: meta
                .scores
                .recommendations
                .as_ref()
                .map(|products| DbJson(products.products.clone())),
        };
        let position = |i: usize| i32::try_from(i).unwrap_or(i32::MAX);
        CustomerRecord {
            phones: input
                .phones
                .iter()
                .enumerate()
                .map(|(i, phone)| PhoneRow {
                    id: DbUuid(Uuid::now_v7()),
                    customer_id: id,
                    number: phone.number.clone(),
                    kind: phone
                        .phone_type
                        .unwrap_or(PhoneType::Other)
                        .as_str()
                        .to_string(),
                    label: phone.label.clone(),
                    is_primary: phone.primary,
                    position: position(i),
                })
                .collect(),
            emails: input
                .emails
                .iter()
                .enumerate()
                .map(|(i, email)| EmailRow {
                    id: DbUuid(Uuid::now_v7()),
                    customer_id: id,
                    address: email.address.clone(),
                    label: email.label.clone(),
                    is_primary: email.primary,
                    position: position(i),
                })
                .collect(),
            addresses: input
                .addresses
                .iter()
                .enumerate()
                .map(|(i, address)| AddressRow {
                    id: DbUuid(Uuid::now_v7()),
                    customer_id: id,
                    label: address.label.clone(),
                    province: address.province.clone(),
                    city: address.city.clone(),
                    line: address.line.clone(),
                    postal_code: address.postal_code.clone(),
                    po_box: address.po_box.clone(),
                    is_primary: address.primary,
                    position: position(i),
                })
                .collect(),
            tag_ids: input.tag_ids.clone(),
            group_ids: input.group_ids.clone(),
            row,
        }
    }

    /// The stored customer as the input that would write it again.
    pub fn to_input(&self) -> Result<CustomerInput, PersistenceError> {
        let row = &self.row;
        let custom_fields = match &row.custom_fields.0 {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        Ok(CustomerInput {
            kind: parse(&row.kind, CustomerKind::parse, "customer kind")?,
            code: row.code.clone(),
            title: row.title.clone(),
            gender: row
                .gender
                .as_deref()
                .map(|g| parse(g, Gender::parse, "gender"))
                .transpose()?,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            organization_name: row.organization_name.clone(),
            industry: row.industry.clone(),
            website: row.website.clone(),
            phones: self
                .phones
                .iter()
                .map(|phone| {
                    Ok(PhoneInput {
                        number: phone.number.clone(),
                        phone_type: Some(parse(&phone.kind, PhoneType::parse, "phone type")?),
                        label: phone.label.clone(),
                        primary: phone.is_primary,
                    })
                })
                .collect::<Result<_, PersistenceError>>()?,
            emails: self
                .emails
                .iter()
                .map(|email| EmailInput {
                    address: email.address.clone(),
                    label: email.label.clone(),
                    primary: email.is_primary,
                })
                .collect(),
            addresses: self
                .addresses
                .iter()
                .map(|address| AddressInput {
                    label: address.label.clone(),
                    province: address.province.clone(),
                    city: address.city.clone(),
                    line: address.line.clone(),
                    postal_code: address.postal_code.clone(),
                    po_box: address.po_box.clone(),
                    primary: address.is_primary,
                })
                .collect(),
            national_code: row.national_code.clone(),
            national_id: row.national_id.clone(),
            birth_certificate_number: row.birth_certificate_number.clone(),
            birth_date: row.birth_date,
            marriage_date: row.marriage_date,
            founding_date: row.founding_date,
            field_of_study: row.field_of_study.clone(),
            degree: row
                .degree
                .as_deref()
                .map(|d| parse(d, EducationDegree::parse, "degree"))
                .transpose()?,
            owner_id: row.owner_id.map(|id| id.0),
            team_id: row.team_id.map(|id| id.0),
            tier_id: row.tier_id.map(|id| id.0),
            lifecycle_stage: parse(
                &row.lifecycle_stage,
                LifecycleStage::parse,
                "lifecycle stage",
            )?,
            acquisition_source: row.acquisition_source.clone(),
            acquisition_channel: row.acquisition_channel.clone(),
            acquisition_campaign: row.acquisition_campaign.clone(),
            referred_by_customer_id: row.referred_by_customer_id.map(|id| id.0),
            referred_by_user_id: row.referred_by_user_id.map(|id| id.0),
            tag_ids: self.tag_ids.clone(),
            group_ids: self.group_ids.clone(),
            custom_fields,
        })
    }

    pub fn meta(&self) -> CustomerMeta {
        let row = &self.row;
        CustomerMeta {
            id: row.id.0,
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            lifecycle_changed_at: row.lifecycle_changed_at.0,
            version: row.version,
            erased_at: row.erased_at.map(|at| at.0),
            merged_into_id: row.merged_into_id.map(|id| id.0),
            facts: self.facts(),
            scores: self.scores(),
        }
    }

    /// The scores as read with the row; a group whose run id is missing is absent.
    pub fn scores(&self) -> CustomerScores {
        let row = &self.row;
        let rfm = match (
            row.rfm_run_id,
            row.rfm_recency,
            row.rfm_frequency,
            row.rfm_monetary,
            &row.rfm_segment,
        ) {
            (Some(run), Some(recency), Some(frequency), Some(monetary), Some(segment)) => {
                Some(RfmScores {
                    run_id: run.0,
                    recency,
                    frequency,
                    monetary,
                    segment: segment.clone(),
                })
            }
            _ => None,
        };
        let clv = match (
            row.clv_run_id,
            row.p_alive,
            row.expected_purchases,
            row.expected_spend,
            row.clv,
        ) {
            (
                Some(run),
                Some(p_alive),
                Some(expected_purchases),
                Some(expected_spend),
                Some(clv),
            ) => Some(ClvScores {
                run_id: run.0,
                p_alive,
                expected_purchases,
                expected_spend,
                clv,
            }),
            _ => None,
        };
        let cluster = match (row.cluster_run_id, row.cluster) {
            (Some(run), Some(cluster)) => Some(ClusterScore {
                run_id: run.0,
                cluster,
            }),
            _ => None,
        };
        let churn = match (row.churn_run_id, row.churn_risk, &row.churn_drivers) {
            (Some(run), Some(risk), Some(drivers)) => Some(ChurnScore {
                run_id: run.0,
                risk,
                drivers: drivers.0.clone(),
            }),
            _ => None,
        };
        let recommendations = match (row.cross_sell_run_id, &row.recommendations) {
            (Some(run), Some(products)) => Some(Recommendations {
                run_id: run.0,
                products: products.0.clone(),
            }),
            _ => None,
        };
        CustomerScores {
            rfm,
            clv,
            cluster,
            churn,
            recommendations,
        }
    }

    /// The purchase facts as read with the row.
    pub fn facts(&self) -> PurchaseFacts {
        let row = &self.row;
        PurchaseFacts {
            order_count: row.order_count,
            revenue: row.revenue,
            first_order_at: row.first_order_at.map(|at| at.0),
            last_order_at: row.last_order_at.map(|at| at.0),
        }
    }
}

fn custom_value_rows(id: Uuid, custom: &[(String, CustomValue)]) -> Vec<CustomValueRow> {
    custom
        .iter()
        .map(|(key, value)| {
            let mut row = CustomValueRow {
                customer_id: DbUuid(id),
                field_key: key.clone(),
                text_value: None,
                int_value: None,
                date_value: None,
                bool_value: None,
            };
            match value {
                CustomValue::Text(text) => row.text_value = Some(text.clone()),
                CustomValue::Integer(number) => row.int_value = Some(*number),
                CustomValue::Date(date) => row.date_value = Some(*date),
                CustomValue::Boolean(flag) => row.bool_value = Some(*flag),
            }
            row
        })
        .collect()
}

/// Writes a new customer and its dependent rows.
pub fn insert(
    conn: &mut DbConnection,
    record: &CustomerRecord,
    custom: &[(String, CustomValue)],
) -> Result<(), PersistenceError> {
    insert_many(conn, std::slice::from_ref(record), &[custom])
}

/// Writes many new customers with few statements (imports): rows go in chunks that
/// stay under both backends' bind-parameter limits.
pub fn insert_many(
    conn: &mut DbConnection,
    records: &[CustomerRecord],
    custom: &[&[(String, CustomValue)]],
) -> Result<(), PersistenceError> {
    for chunk in records.chunks(CHUNK) {
        let rows: Vec<&CustomerRow> = chunk.iter().map(|r| &r.row).collect();
        crate::copy_rows!(conn, customers::table, rows)
            .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CODE))?;
    }
    insert_dependents(conn, &records.iter().collect::<Vec<_>>(), custom)
}

/// Inserts phones, e-mails, addresses, custom values and labels of `records`.
fn insert_dependents(
    conn: &mut DbConnection,
    records: &[&CustomerRecord],
    custom: &[&[(String, CustomValue)]],
) -> Result<(), PersistenceError> {
    let now = DbTime(crate::now());
    let phones: Vec<&PhoneRow> = records.iter().flat_map(|r| &r.phones).collect();
    let emails: Vec<&EmailRow> = records.iter().flat_map(|r| &r.emails).collect();
    let addresses: Vec<&AddressRow> = records.iter().flat_map(|r| &r.addresses).collect();
    let values: Vec<CustomValueRow> = records
        .iter()
        .zip(custom)
        .flat_map(|(record, custom)| custom_value_rows(record.row.id.0, custom))
        .collect();
    let labels: Vec<(DbUuid, DbUuid)> = records
        .iter()
        .flat_map(|r| {
            r.tag_ids
                .iter()
                .chain(&r.group_ids)
                .map(|label| (r.row.id, DbUuid(*label)))
        })
        .collect();
    for chunk in phones.chunks(CHUNK * 4) {
        crate::copy_rows!(conn, customer_phones::table, chunk.to_vec())?;
    }
    for chunk in emails.chunks(CHUNK * 4) {
        crate::copy_rows!(conn, customer_emails::table, chunk.to_vec())?;
    }
    for chunk in addresses.chunks(CHUNK * 2) {
        crate::copy_rows!(conn, customer_addresses::table, chunk.to_vec())?;
    }
    for chunk in values.chunks(CHUNK * 4) {
        crate::copy_rows!(conn, customer_custom_values::table, chunk)?;
    }
    for chunk in labels.chunks(CHUNK * 4) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(customer, label)| {
                (
                    customer_labels::customer_id.eq(*customer),
                    customer_labels::label_id.eq(*label),
                    customer_labels::created_at.eq(now),
                )
            })
            .collect();
        crate::insert_batch!(conn, customer_labels::table, rows)?;
    }
    Ok(())
}

/// Replaces a customer whose stored version is still `expected_version` (the record
/// carries the new version) together with all its dependent rows.
pub fn update(
    conn: &mut DbConnection,
    record: &CustomerRecord,
    custom: &[(String, CustomValue)],
    expected_version: i64,
) -> Result<(), PersistenceError> {
    update_many(conn, &[(record, expected_version)], &[custom])
}

/// [`update`] for many customers (imports): one version-checked `UPDATE` per customer
/// (each row has its own values), then the dependent rows of all of them deleted and
/// inserted again with a few multi-row statements.
pub fn update_many(
    conn: &mut DbConnection,
    records: &[(&CustomerRecord, i64)],
    custom: &[&[(String, CustomValue)]],
) -> Result<(), PersistenceError> {
    for (record, expected_version) in records {
        let id = record.row.id;
        let updated = diesel::update(
            customers::table
                .filter(customers::id.eq(id))
                .filter(customers::version.eq(expected_version)),
        )
        .set(&record.row)
        .execute(conn)
        .map_err(|err| PersistenceError::from_write(err, DUPLICATE_CODE))?;
        if updated == 0 {
            find_row(conn, id.0)?;
            return Err(PersistenceError::StaleVersion);
        }
    }
    let ids: Vec<DbUuid> = records.iter().map(|(record, _)| record.row.id).collect();
    delete_dependents(conn, &ids)?;
    let records: Vec<&CustomerRecord> = records.iter().map(|(record, _)| *record).collect();
    // The dependants go in through the batch path, which skips empty lists.
    insert_dependents(conn, &records, custom)
}

fn delete_dependents(conn: &mut DbConnection, ids: &[DbUuid]) -> Result<(), PersistenceError> {
    for chunk in ids.chunks(CHUNK) {
        diesel::delete(customer_phones::table.filter(customer_phones::customer_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(customer_emails::table.filter(customer_emails::customer_id.eq_any(chunk)))
            .execute(conn)?;
        diesel::delete(
            customer_addresses::table.filter(customer_addresses::customer_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(
            customer_custom_values::table.filter(customer_custom_values::customer_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(customer_labels::table.filter(customer_labels::customer_id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(())
}

/// Locks the rows of `ids` for the rest of the transaction, in id order.
///
/// A write that changes several customers (a merge) takes their locks up front and
/// always in the same order, so two such writes over the same customers queue behind
/// each other instead of each locking one row and waiting for the other's (a
/// deadlock). The customers read after this see what the previous writer committed.
/// SQLite needs nothing: a write transaction holds the whole database from its start.
pub fn lock_for_update(conn: &mut DbConnection, ids: &[Uuid]) -> Result<(), PersistenceError> {
    if let DbConnection::Postgres(pg) = conn {
        let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
        customers::table
            .filter(customers::id.eq_any(&ids))
            .order(customers::id)
            .select(customers::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    Ok(())
}

/// The lifecycle stage of each of `ids` that exists.
pub fn stages(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, PersistenceError> {
    let mut stages = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<(DbUuid, String)> = customers::table
            .filter(customers::id.eq_any(chunk))
            .select((customers::id, customers::lifecycle_stage))
            .load(conn)?;
        stages.extend(rows.into_iter().map(|(id, stage)| (id.0, stage)));
    }
    Ok(stages)
}

/// How many customers (not merged away, not erased) each of `owners` owns; owners with
/// none are absent. An owner's load when customers are assigned.
pub fn owned_counts(
    conn: &mut DbConnection,
    owners: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i64>, PersistenceError> {
    let ids: Vec<DbUuid> = owners.iter().copied().map(DbUuid).collect();
    Ok(customers::table
        .filter(customers::owner_id.eq_any(ids))
        .filter(customers::merged_into_id.is_null())
        .filter(customers::erased_at.is_null())
        .group_by(customers::owner_id)
        .select((customers::owner_id, diesel::dsl::count_star()))
        .load::<(Option<DbUuid>, i64)>(conn)?
        .into_iter()
        .filter_map(|(owner, count)| owner.map(|owner| (owner.0, count)))
        .collect())
}

/// Merges followed at most from a customer id (a longer chain is corrupt data).
pub const MAX_MERGE_HOPS: usize = 16;

pub fn find_row(conn: &mut DbConnection, id: Uuid) -> Result<CustomerRow, PersistenceError> {
    customers::table
        .find(DbUuid(id))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(PersistenceError::NotFound)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<CustomerRecord, PersistenceError> {
    let row = find_row(conn, id)?;
    Ok(load_many(conn, vec![row])?.remove(0))
}

/// Attaches the dependent rows of `rows` with one query per table, in row order.
pub fn load_many(
    conn: &mut DbConnection,
    rows: Vec<CustomerRow>,
) -> Result<Vec<CustomerRecord>, PersistenceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
    let mut phones = group_by_customer(
        customer_phones::table
            .filter(customer_phones::customer_id.eq_any(&ids))
            .order((customer_phones::customer_id, customer_phones::position))
            .select(PhoneRow::as_select())
            .load(conn)?,
        |row: &PhoneRow| row.customer_id.0,
    );
    let mut emails = group_by_customer(
        customer_emails::table
            .filter(customer_emails::customer_id.eq_any(&ids))
            .order((customer_emails::customer_id, customer_emails::position))
            .select(EmailRow::as_select())
            .load(conn)?,
        |row: &EmailRow| row.customer_id.0,
    );
    let mut addresses = group_by_customer(
        customer_addresses::table
            .filter(customer_addresses::customer_id.eq_any(&ids))
            .order((
                customer_addresses::customer_id,
                customer_addresses::position,
            ))
            .select(AddressRow::as_select())
            .load(conn)?,
        |row: &AddressRow| row.customer_id.0,
    );
    let label_rows: Vec<(DbUuid, DbUuid, String)> = customer_labels::table
        .inner_join(labels::table)
        .filter(customer_labels::customer_id.eq_any(&ids))
        .order((customer_labels::customer_id, labels::created_at, labels::id))
        .select((customer_labels::customer_id, labels::id, labels::kind))
        .load(conn)?;
    let mut label_map: HashMap<Uuid, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
    for (customer, label, kind) in label_rows {
        let entry = label_map.entry(customer.0).or_default();
        match kind.as_str() {
            crate::labels::TAG => entry.0.push(label.0),
            crate::labels::GROUP => entry.1.push(label.0),
            _ => {}
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id.0;
            let (tag_ids, group_ids) = label_map.remove(&id).unwrap_or_default();
            CustomerRecord {
                phones: phones.remove(&id).unwrap_or_default(),
                emails: emails.remove(&id).unwrap_or_default(),
                addresses: addresses.remove(&id).unwrap_or_default(),
                tag_ids,
                group_ids,
                row,
            }
        })
        .collect())
}

fn group_by_customer<R>(rows: Vec<R>, customer: fn(&R) -> Uuid) -> HashMap<Uuid, Vec<R>> {
    let mut grouped: HashMap<Uuid, Vec<R>> = HashMap::new();
    for row in rows {
        grouped.entry(customer(&row)).or_default().push(row);
    }
    grouped
}

/// Deletes a customer and everything that hangs off it (`ON DELETE CASCADE`).
pub fn delete(conn: &mut DbConnection, id: Uuid) -> Result<(), PersistenceError> {
    crate::record_shares::forget_records(conn, domain::partners::SharedKind::Customer, &[id])?;
    match diesel::delete(customers::table.find(DbUuid(id))).execute(conn)? {
        0 => Err(PersistenceError::NotFound),
        _ => Ok(()),
    }
}

/// The customer with business code `code`, if any.
pub fn find_id_by_code(
    conn: &mut DbConnection,
    code: &str,
) -> Result<Option<Uuid>, PersistenceError> {
    Ok(customers::table
        .filter(customers::code.eq(code))
        .select(customers::id)
        .first::<DbUuid>(conn)
        .optional()?
        .map(|id| id.0))
}

/// Which of `ids` exist as customers.
pub fn existing_ids(conn: &mut DbConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, PersistenceError> {
    let ids: Vec<DbUuid> = ids.iter().copied().map(DbUuid).collect();
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .select(customers::id)
        .load::<DbUuid>(conn)?
        .into_iter()
        .map(|id| id.0)
        .collect())
}

/// What a list of other records shows of a customer: its code and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLabel {
    pub code: Option<String>,
    pub display_name: String,
    pub erased: bool,
}

/// The code and display name of each of `ids` that exists, with one query per 500 ids.
pub fn labels_of(
    conn: &mut DbConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, CustomerLabel>, PersistenceError> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let chunk: Vec<DbUuid> = chunk.iter().copied().map(DbUuid).collect();
        let rows: Vec<(DbUuid, Option<String>, String, Option<DbTime>)> = customers::table
            .filter(customers::id.eq_any(chunk))
            .select((
                customers::id,
                customers::code,
                customers::display_name,
                customers::erased_at,
            ))
            .load(conn)?;
        for (id, code, display_name, erased_at) in rows {
            found.insert(
                id.0,
                CustomerLabel {
                    code,
                    display_name,
                    erased: erased_at.is_some(),
                },
            );
        }
    }
    Ok(found)
}
