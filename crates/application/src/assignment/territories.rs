//! Territories (`crm:configure` to change, `records:read` to read): the places a team
//! serves. A city or province belongs to one territory at most, so a record's territory
//! is never ambiguous.

use domain::assignment::{place_key, Strategy, TerritoryInput, TerritoryPlaces};
use domain::authz::Permission;
use domain::validation::FieldViolation;
use persistence::assignment::TerritoryRow;
use persistence::audit;
use persistence::db::DbConnection;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::transaction;

fn names(value: &DbJson, what: &str) -> AppResult<Vec<String>> {
    serde_json::from_value(value.0.clone())
        .map_err(|err| AppError::Internal(format!("stored territory {what}: {err}")))
}

/// A stored territory as the input that would write it again.
pub fn input_of(row: &TerritoryRow) -> AppResult<TerritoryInput> {
    Ok(TerritoryInput {
        name: row.name.clone(),
        provinces: names(&row.provinces, "provinces")?,
        cities: names(&row.cities, "cities")?,
        team_id: row.team_id.0,
        strategy: Strategy::parse(&row.strategy)
            .ok_or_else(|| AppError::Internal(format!("stored strategy {}", row.strategy)))?,
    })
}

/// The places of a stored territory, for matching.
pub fn places_of(row: &TerritoryRow) -> AppResult<TerritoryPlaces> {
    Ok(TerritoryPlaces {
        id: row.id.0,
        provinces: names(&row.provinces, "provinces")?,
        cities: names(&row.cities, "cities")?,
    })
}

fn write_input(mut row: TerritoryRow, input: &TerritoryInput) -> TerritoryRow {
    row.name = input.name.clone();
    row.provinces = DbJson(serde_json::json!(input.provinces));
    row.cities = DbJson(serde_json::json!(input.cities));
    row.team_id = DbUuid(input.team_id);
    row.strategy = input.strategy.as_str().to_string();
    row
}

/// `input` checked against the database: the team exists, and no place it lists
/// belongs to another territory (`except` is the territory being changed).
fn checked(
    conn: &mut DbConnection,
    input: TerritoryInput,
    except: Option<Uuid>,
) -> AppResult<TerritoryInput> {
    // Every problem at once: those of the input alone, then those the database finds.
    let (input, mut problems) = match input.clone().validated() {
        Ok(valid) => (valid, Vec::new()),
        Err(found) => (input, found),
    };
    if persistence::teams::existing_ids(conn, &[input.team_id])?.is_empty() {
        problems.push(FieldViolation::new(
            "team_id",
            "not_found",
            "no team has this id",
        ));
    }
    let others = persistence::assignment::territories(conn)?
        .into_iter()
        .filter(|row| Some(row.id.0) != except)
        .collect::<Vec<_>>();
    for other in &others {
        let theirs = places_of(other)?;
        for (field, mine, their) in [
            ("provinces", &input.provinces, &theirs.provinces),
            ("cities", &input.cities, &theirs.cities),
        ] {
            for (index, place) in mine.iter().enumerate() {
                let key = place_key(place);
                if !key.is_empty() && their.iter().any(|p| place_key(p) == key) {
                    problems.push(FieldViolation::new(
                        format!("{field}[{index}]"),
                        "taken",
                        format!("already in the territory {:?}", other.name),
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(AppError::Invalid(problems))
    }
}

/// Adds a territory (`crm:configure`); a taken name is a conflict.
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    input: TerritoryInput,
) -> AppResult<TerritoryRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let input = checked(conn, input, None)?;
        let now = DbTime(persistence::now());
        let row = write_input(
            TerritoryRow {
                id: DbUuid(Uuid::now_v7()),
                name: String::new(),
                provinces: DbJson(serde_json::json!([])),
                cities: DbJson(serde_json::json!([])),
                team_id: DbUuid(input.team_id),
                strategy: String::new(),
                created_at: now,
                updated_at: now,
                version: 1,
            },
            &input,
        );
        persistence::assignment::insert_territory(conn, &row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "territory.create",
            "territory",
            row.id.0,
            &serde_json::json!({}),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// A territory (`records:read`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<TerritoryRow> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::assignment::find_territory(conn, id)?)
}

/// Every territory by name (`records:read`).
pub fn list(conn: &mut DbConnection, acting: &Acting) -> AppResult<Vec<TerritoryRow>> {
    acting.require(Permission::RecordsRead)?;
    Ok(persistence::assignment::territories(conn)?)
}

/// Changes a territory (`crm:configure`).
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&TerritoryInput) -> AppResult<TerritoryInput>,
) -> AppResult<TerritoryRow> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::assignment::find_territory(conn, id)?;
        precondition.check(id, current.version)?;
        let after = checked(conn, edit(&input_of(&current)?)?, Some(id))?;
        let row =
            persistence::assignment::update_territory(conn, &write_input(current.clone(), &after))?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "territory.update",
            "territory",
            id,
            &current.audit_snapshot(),
            &row.audit_snapshot(),
        )?;
        Ok(row)
    })
}

/// Deletes a territory (`crm:configure`): records of its places then match no
/// territory rule.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = persistence::assignment::find_territory(conn, id)?;
        precondition.check(id, current.version)?;
        persistence::assignment::delete_territory(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "territory.delete",
            "territory",
            id,
            &current.audit_snapshot(),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}
