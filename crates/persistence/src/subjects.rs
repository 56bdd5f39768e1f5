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
        use $crate::schema::{customers, deals, leads};
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
