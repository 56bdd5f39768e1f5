//! Returns and refunds: units of an order's lines coming back. Each return is checked
//! under the order's lock against what is left of every line, so no line is ever
//! returned past what was bought, also when two returns race; its refund lowers the
//! order's revenue and the customer's purchase facts.

use domain::authz::Permission;
use domain::commerce::orders::OrderStatus;
use domain::commerce::returns::{refund_for, ReturnInput};
use domain::validation::Violations;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::orders::{OrderRecord, ReturnLineRow, ReturnRow};
use persistence::sql_types::{DbTime, DbUuid};
use uuid::Uuid;

use super::lifecycle;
use super::orders::visible_row;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::transaction;

/// A recorded return with its lines.
pub type Return = (ReturnRow, Vec<ReturnLineRow>);

/// Records a return of units of order `order_id` (`records:write`); answers the return
/// and the order as it is afterwards.
pub fn record(
    conn: &mut DbConnection,
    acting: &Acting,
    order_id: Uuid,
    input: ReturnInput,
) -> AppResult<(Return, OrderRecord)> {
    acting.require(Permission::RecordsWrite)?;
    let now = persistence::now();
    let input = input.validated(now).map_err(AppError::Invalid)?;
    transaction(conn, |conn| {
        let found = visible_row(conn, acting, order_id)?;
        persistence::customers::lock_for_update(conn, &[found.customer_id.0])?;
        persistence::orders::lock(conn, order_id)?;
        // Read again under the locks: what is left to return is decided now.
        let current = visible_row(conn, acting, order_id)?;
        let order = persistence::orders::with_lines(conn, vec![current])?.remove(0);
        let status = order.row.status()?;
        if !status.accepts_returns() {
            return Err(AppError::Conflict(format!(
                "the order is {}; only paid, fulfilled or partly returned orders take returns",
                status.as_str()
            )));
        }
        let returned_at = input.returned_at.unwrap_or(now);
        let mut v = Violations::default();
        if returned_at < order.row.placed_at.0 {
            v.push(
                "returned_at",
                "before_order",
                "must not be before the order was placed",
            );
        }
        let return_id = Uuid::now_v7();
        let mut lines = Vec::with_capacity(input.lines.len());
        for (index, wanted) in input.lines.iter().enumerate() {
            let Some(line) = order
                .lines
                .iter()
                .find(|line| line.id.0 == wanted.order_line_id)
            else {
                v.push(
                    format!("lines[{index}].order_line_id"),
                    "not_found",
                    "is not a line of this order",
                );
                continue;
            };
            match refund_for(
                line.total,
                line.quantity,
                line.returned_quantity,
                wanted.quantity,
            ) {
                Some(refund) => lines.push(ReturnLineRow {
                    return_id: DbUuid(return_id),
                    order_line_id: line.id,
                    quantity: wanted.quantity,
                    refund,
                }),
                None => v.push(
                    format!("lines[{index}].quantity"),
                    "exceeds_remaining",
                    format!(
                        "only {} of the line's {} units are left to return",
                        line.quantity - line.returned_quantity,
                        line.quantity
                    ),
                ),
            }
        }
        v.into_result().map_err(AppError::Invalid)?;
        let refund_total = lines.iter().map(|line| line.refund).sum::<i64>();
        let row = ReturnRow {
            id: DbUuid(return_id),
            order_id: order.row.id,
            reason: input.reason,
            refund_total,
            returned_at: DbTime(returned_at),
            created_by: acting.user_id.map(DbUuid),
            created_at: DbTime(now),
        };
        persistence::orders::record_return(conn, &row, &lines)?;
        let all_back = order.lines.iter().all(|line| {
            let now_returned = line.returned_quantity
                + lines
                    .iter()
                    .filter(|r| r.order_line_id == line.id)
                    .map(|r| r.quantity)
                    .sum::<i64>();
            now_returned == line.quantity
        });
        let mut updated = order.row.clone();
        updated.refunded_total += refund_total;
        updated.status = if all_back {
            OrderStatus::Returned
        } else {
            OrderStatus::PartiallyReturned
        }
        .as_str()
        .to_string();
        let updated = persistence::orders::update(conn, &updated)?;
        audit::record(
            conn,
            &acting.audit_actor(),
            persistence::audit::NewAuditEvent {
                action: "order.return",
                resource_type: "order",
                resource_id: Some(order_id.to_string()),
                changes: Some(serde_json::json!({
                    "return_id": return_id,
                    "lines": lines.iter().map(|l| serde_json::json!({
                        "order_line_id": l.order_line_id.0, "quantity": l.quantity, "refund": l.refund
                    })).collect::<Vec<_>>(),
                    "refund_total": refund_total,
                    "status": {"before": order.row.status, "after": updated.status},
                })),
            },
        )?;
        lifecycle::after_order_change(conn, acting, updated.customer_id.0, &updated, false)?;
        let after = persistence::orders::with_lines(conn, vec![updated])?.remove(0);
        Ok(((row, lines), after))
    })
}

/// The returns of an order (`records:read`), oldest first.
pub fn list(conn: &mut DbConnection, acting: &Acting, order_id: Uuid) -> AppResult<Vec<Return>> {
    acting.require(Permission::RecordsRead)?;
    visible_row(conn, acting, order_id)?;
    Ok(persistence::orders::returns_of(conn, order_id)?)
}
