//! The records tasks and activities are about (a customer, a lead or a deal, each in its
//! own nullable column) and who may see what hangs off them.

/// Narrows a boxed query of `$table` (with `customer_id`, `lead_id`, `deal_id` and
/// `team_id` columns) to the rows `$scope` may see: those of `$person` (the assignee or
/// the performer) or of the caller's team (with `team` visibility), and those whose
/// subject record the caller may see by that record's owner and team. A macro because
/// the tables' columns are distinct types.
macro_rules! visible_by_subject {
    ($query:expr, $scope:expr, $table:ident, $person:ident) => {{
        use diesel::prelude::*;
        use domain::authz::Visibility;
        use $crate::schema::{customers, deals, leads, record_shares};
        use $crate::sql_types::DbUuid;
        let scope: &$crate::customers::search::Scope = $scope;
        let me = DbUuid(scope.user_id);
        // Without team visibility no row's team matches: no team has the nil id.
        let team = DbUuid(match (scope.visibility, scope.team_id) {
            (Visibility::Team, Some(team)) => team,
            _ => uuid::Uuid::nil(),
        });
        match scope.visibility {
            Visibility::All => $query,
            // A partner's user also sees what hangs off the records shared with it.
            _ if scope.partner_id.is_some() => {
                let partner = scope.partner_id.unwrap_or_default();
                $query.filter(
                    $table::$person
                        .eq(me)
                        .or($table::customer_id.eq_any(
                            $crate::shared_with!(partner, domain::partners::SharedKind::Customer)
                                .select(record_shares::record_id.nullable()),
                        ))
                        .or($table::lead_id.eq_any(
                            $crate::shared_with!(partner, domain::partners::SharedKind::Lead)
                                .select(record_shares::record_id.nullable()),
                        ))
                        .or($table::deal_id.eq_any(
                            $crate::shared_with!(partner, domain::partners::SharedKind::Deal)
                                .select(record_shares::record_id.nullable()),
                        )),
                )
            }
            Visibility::Own | Visibility::Team => $query.filter(
                $table::$person
                    .eq(me)
                    .or($table::team_id.eq(team))
                    .or(diesel::dsl::exists(
                        customers::table
                            .filter(customers::id.nullable().eq($table::customer_id))
                            .filter(customers::owner_id.eq(me).or(customers::team_id.eq(team))),
                    )
                    .nullable())
                    .or(diesel::dsl::exists(
                        leads::table
                            .filter(leads::id.nullable().eq($table::lead_id))
                            .filter(leads::owner_id.eq(me).or(leads::team_id.eq(team))),
                    )
                    .nullable())
                    .or(diesel::dsl::exists(
                        deals::table
                            .filter(deals::id.nullable().eq($table::deal_id))
                            .filter(deals::owner_id.eq(me).or(deals::team_id.eq(team))),
                    )
                    .nullable()),
            ),
        }
    }};
}
pub(crate) use visible_by_subject;
