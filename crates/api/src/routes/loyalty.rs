//! Loyalty points of a customer: the account (balance and lots), the ledger, and points
//! earned, redeemed or taken away.

use actix_web::{get, post, web, HttpResponse};
use application::loyalty::{self, Account};
use chrono::{DateTime, Utc};
use domain::loyalty::{EarnInput, LoyaltyEntryKind, SpendInput};
use persistence::loyalty::{EntryRow, LotRow};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::conventions::{JsonBody, Page, PageParams};
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        get_loyalty_account,
        list_loyalty_entries,
        earn_loyalty_points,
        redeem_loyalty_points,
        deduct_loyalty_points,
        create_referral_code,
        resolve_referral_code
    ),
    components(schemas(
        LoyaltyAccount,
        LoyaltyLot,
        LoyaltyEntry,
        LoyaltyChange,
        EarnInput,
        SpendInput,
        LoyaltyEntryKind,
        ReferralCode
    ))
)]
pub struct LoyaltyApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_loyalty_account)
        .service(list_loyalty_entries)
        .service(earn_loyalty_points)
        .service(redeem_loyalty_points)
        .service(deduct_loyalty_points)
        .service(create_referral_code)
        .service(resolve_referral_code);
}

/// A customer's referral code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralCode {
    /// The customer the code belongs to (for a resolved code, the customer it was
    /// merged into, if any).
    pub customer_id: Uuid,
    /// Eight base-32 digits (Crockford: no I, L, O or U); read back case-blind, with
    /// O as 0 and I or L as 1.
    pub code: String,
    /// The code in the loyalty rules' `referral_link` template; null without one.
    pub link: Option<String>,
}

impl From<loyalty::Referral> for ReferralCode {
    fn from(referral: loyalty::Referral) -> Self {
        ReferralCode {
            customer_id: referral.customer_id,
            code: referral.code,
            link: referral.link,
        }
    }
}

/// A customer's referral code.
///
/// Made on first asking (201) and kept for good (200 after). Whoever names the code
/// when they become a customer (`referred_by_customer_id` of the customer it resolves
/// to, `GET /referral-codes/{code}`) earns its owner the loyalty rules'
/// `referral_points` at their first purchase, once — never for a self-referral (one
/// customer, one merged into the other, or a phone, e-mail address or national code in
/// common). Needs `records:write` and a customer the caller may see. Audited as
/// `loyalty.referral_code` when made. Problems: 410 for an erased customer.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "create_referral_code",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 201, description = "Made now", body = ReferralCode),
        (status = 200, description = "Made before", body = ReferralCode),
        (status = 410, description = "The customer was erased", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/referral-code")]
pub async fn create_referral_code(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let referral = state
        .db(move |conn| Ok(loyalty::referral_code(conn, &principal, id)?))
        .await?;
    let created = referral.created;
    let body = ReferralCode::from(referral);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// The customer a referral code belongs to.
///
/// For a sign-up form that took a code: the customer to set as the new customer's
/// `referred_by_customer_id`. Needs `records:read`; 404 for an unknown or malformed code
/// and for a customer the caller may not see.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "resolve_referral_code",
    params(("code" = String, Path, description = "Referral code")),
    responses((status = 200, description = "Found", body = ReferralCode))
)]
#[get("/api/v1/referral-codes/{code}")]
pub async fn resolve_referral_code(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let referral = state
        .db(move |conn| Ok(loyalty::resolve_referral_code(conn, &principal, &code)?))
        .await?;
    Ok(HttpResponse::Ok().json(ReferralCode::from(referral)))
}

/// A customer's points now.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoyaltyAccount {
    /// What remains of the lots not expired.
    pub balance: i64,
    /// Points earned over all time.
    pub earned_total: i64,
    /// The lots that still hold points, the one expiring first first: what a
    /// redemption takes from, in this order.
    pub lots: Vec<LoyaltyLot>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoyaltyLot {
    /// The `earn` entry that made it.
    pub id: Uuid,
    pub points: i64,
    pub remaining: i64,
    pub earned_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<Account> for LoyaltyAccount {
    fn from(account: Account) -> Self {
        LoyaltyAccount {
            balance: account.balance,
            earned_total: account.earned_total,
            lots: account.lots.iter().map(LoyaltyLot::from).collect(),
        }
    }
}

impl From<&LotRow> for LoyaltyLot {
    fn from(row: &LotRow) -> Self {
        LoyaltyLot {
            id: row.id.0,
            points: row.points,
            remaining: row.remaining,
            earned_at: row.created_at.0,
            expires_at: row.expires_at.0,
        }
    }
}

/// One entry of the ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoyaltyEntry {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: LoyaltyEntryKind,
    /// Positive for `earn`, negative otherwise.
    pub points: i64,
    /// The lot a negative entry took from.
    pub lot_id: Option<Uuid>,
    /// When an `earn` lot expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<&EntryRow> for LoyaltyEntry {
    type Error = ApiError;

    fn try_from(row: &EntryRow) -> ApiResult<Self> {
        Ok(LoyaltyEntry {
            id: row.id.0,
            customer_id: row.customer_id.0,
            kind: LoyaltyEntryKind::parse(&row.kind).ok_or_else(|| {
                ApiError::Internal(format!("stored loyalty entry kind {:?}", row.kind))
            })?,
            points: row.points,
            lot_id: row.lot_id.map(|id| id.0),
            expires_at: row.expires_at.map(|at| at.0),
            reason: row.reason.clone(),
            created_by: row.created_by.map(|id| id.0),
            created_at: row.created_at.0,
        })
    }
}

/// The entries a change appended and the account after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoyaltyChange {
    pub entries: Vec<LoyaltyEntry>,
    pub account: LoyaltyAccount,
}

fn change(entries: &[EntryRow], account: Account) -> ApiResult<LoyaltyChange> {
    Ok(LoyaltyChange {
        entries: entries
            .iter()
            .map(LoyaltyEntry::try_from)
            .collect::<ApiResult<_>>()?,
        account: account.into(),
    })
}

/// Get a customer's loyalty account.
///
/// The balance (what remains of the lots not expired), the points earned over all time,
/// and the lots that still hold points. Needs `records:read`; the customer must be
/// within the caller's record visibility (404 otherwise).
#[utoipa::path(
    tag = "loyalty",
    operation_id = "get_loyalty_account",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, description = "The account", body = LoyaltyAccount))
)]
#[get("/api/v1/customers/{id}/loyalty")]
pub async fn get_loyalty_account(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let account = state
        .db(move |conn| Ok(loyalty::account(conn, &acting, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(LoyaltyAccount::from(account)))
}

/// List a customer's loyalty ledger.
///
/// Every entry, newest first, one page at a time: `earn` (a lot), `redeem`, `deduct`
/// and `expire` (each taking points from one lot). Needs `records:read`.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "list_loyalty_entries",
    params(("id" = Uuid, Path, description = "Customer id"), PageParams),
    responses((status = 200, description = "One page of entries", body = Page<LoyaltyEntry>))
)]
#[get("/api/v1/customers/{id}/loyalty/entries")]
pub async fn list_loyalty_entries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    page: PageParams,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let (cursor, limit) = (page.cursor.clone(), page.limit as i64);
    let acting = principal.0;
    let rows = state
        .db(move |conn| Ok(loyalty::entries(conn, &acting, id, cursor.as_ref(), limit)?))
        .await?;
    let page = Page::from_rows(rows, page.limit, loyalty::cursor_after, |row| {
        LoyaltyEntry::try_from(&row)
    });
    Ok(HttpResponse::Ok().json(page.collect_results()?))
}

/// Give a customer loyalty points.
///
/// A new lot of `points` (1 to 1,000,000,000) with its `reason`, expiring at
/// `expires_at` (default 365 days from now; at most ten years ahead). Needs
/// `records:write` and the customer within visibility; refused (409) for a customer
/// merged away or erased. Audited as `loyalty.earn`.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "earn_loyalty_points",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = EarnInput,
    responses(
        (status = 201, description = "Earned", body = LoyaltyChange),
        (status = 422, description = "Broken rules", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/loyalty/earn")]
pub async fn earn_loyalty_points(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<EarnInput>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let acting = principal.0;
    let input = body.0;
    let (row, account) = state
        .db(move |conn| Ok(loyalty::earn(conn, &acting, id, input)?))
        .await?;
    Ok(HttpResponse::Created().json(change(std::slice::from_ref(&row), account)?))
}

/// Redeem a customer's loyalty points.
///
/// Takes `points` from the customer's lots, the one expiring first first (an entry per
/// lot taken from). Two redemptions at the same moment take turns; a balance never goes
/// below zero. Needs `records:write`. Audited as `loyalty.redeem`. Problems: 422
/// `points` `exceeds_balance` (nothing is taken); 409 for a customer merged away or
/// erased.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "redeem_loyalty_points",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = SpendInput,
    responses(
        (status = 200, description = "Redeemed", body = LoyaltyChange),
        (status = 422, description = "Broken rules, or more than the balance", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/loyalty/redeem")]
pub async fn redeem_loyalty_points(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<SpendInput>,
) -> ApiResult<HttpResponse> {
    spend(
        state,
        principal,
        id.into_inner(),
        LoyaltyEntryKind::Redeem,
        body.0,
    )
    .await
}

/// Take loyalty points away.
///
/// A correction by the business, taken from lots as a redemption is. Needs
/// `crm:configure`. Audited as `loyalty.deduct`. Problems as for a redemption.
#[utoipa::path(
    tag = "loyalty",
    operation_id = "deduct_loyalty_points",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = SpendInput,
    responses(
        (status = 200, description = "Taken away", body = LoyaltyChange),
        (status = 422, description = "Broken rules, or more than the balance", body = Problem, content_type = "application/problem+json")
    )
)]
#[post("/api/v1/customers/{id}/loyalty/deduct")]
pub async fn deduct_loyalty_points(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<Uuid>,
    body: JsonBody<SpendInput>,
) -> ApiResult<HttpResponse> {
    spend(
        state,
        principal,
        id.into_inner(),
        LoyaltyEntryKind::Deduct,
        body.0,
    )
    .await
}

async fn spend(
    state: web::Data<AppState>,
    principal: Principal,
    id: Uuid,
    kind: LoyaltyEntryKind,
    input: SpendInput,
) -> ApiResult<HttpResponse> {
    let acting = principal.0;
    let (rows, account) = state
        .db(move |conn| Ok(loyalty::spend(conn, &acting, id, kind, input)?))
        .await?;
    Ok(HttpResponse::Ok().json(change(&rows, account)?))
}
