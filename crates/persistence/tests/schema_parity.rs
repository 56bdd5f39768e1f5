//! Both backends' migrations produce the same schema: the same tables, per table the same
//! columns with the same nullability, and the same index and trigger names.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use persistence::DbConnection;
use test_databases::{Backend, TestDatabase};

/// table -> column -> nullable
type Columns = BTreeMap<String, BTreeMap<String, bool>>;

const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// Each backend's own quick-search index: SQLite's FTS5 tables (and their shadow
/// tables) and PostgreSQL's trigram indexes (leads and tickets have one on PostgreSQL only;
/// SQLite scans their search text). They answer the same query, so they are compared by the
/// search tests, not here.
fn is_backend_search_structure(name: &str) -> bool {
    name.starts_with("customer_search")
        || name == "customers_search_text_trgm_idx"
        || name == "leads_search_text_trgm_idx"
        || name == "tickets_search_text_trgm_idx"
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    primary_key: i32,
}

#[derive(QueryableByName)]
struct IndexName {
    #[diesel(sql_type = Text)]
    name: String,
}

fn columns(conn: &mut DbConnection) -> Columns {
    let mut tables = Columns::new();
    match conn {
        DbConnection::Postgres(pg) => {
            let rows: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 is_nullable::text AS is_nullable \
                 FROM information_schema.columns WHERE table_schema = current_schema()",
            )
            .load(pg)
            .expect("columns");
            for row in rows {
                tables
                    .entry(row.table_name)
                    .or_default()
                    .insert(row.column_name, row.is_nullable == "YES");
            }
        }
        DbConnection::Sqlite(sqlite) => {
            let rows: Vec<SqliteColumn> = diesel::sql_query(
                "SELECT m.name AS table_name, c.name AS column_name, c.\"notnull\" AS not_null, c.pk AS primary_key \
                 FROM sqlite_master m, pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .load(sqlite)
            .expect("columns");
            for row in rows {
                // A PRIMARY KEY column is NOT NULL on PostgreSQL by definition; SQLite
                // reports it as nullable unless declared otherwise.
                let nullable = row.not_null == 0 && row.primary_key == 0;
                tables
                    .entry(row.table_name)
                    .or_default()
                    .insert(row.column_name, nullable);
            }
        }
    }
    tables.remove(DIESEL_TABLE);
    tables.retain(|table, _| !is_backend_search_structure(table));
    tables
}

/// Named indexes; the implicit primary-key indexes are named by each engine its own way.
fn index_names(conn: &mut DbConnection) -> Vec<String> {
    let rows: Vec<IndexName> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(
            "SELECT i.indexname::text AS name FROM pg_indexes i \
             JOIN pg_index x ON x.indexrelid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass \
             WHERE i.schemaname = current_schema() AND NOT x.indisprimary AND i.tablename <> '__diesel_schema_migrations'",
        )
        .load(pg),
        DbConnection::Sqlite(sqlite) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' \
             AND tbl_name <> '__diesel_schema_migrations'",
        )
        .load(sqlite),
    }
    .expect("indexes");
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|row| row.name)
        .filter(|name| !is_backend_search_structure(name))
        .collect();
    names.sort();
    names
}

/// Triggers by name (PostgreSQL lists one row per event of a trigger). The triggers of
/// SQLite's quick-search tables have no PostgreSQL twin.
fn trigger_names(conn: &mut DbConnection) -> Vec<String> {
    let rows: Vec<IndexName> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(
            "SELECT DISTINCT trigger_name::text AS name FROM information_schema.triggers \
             WHERE trigger_schema = current_schema()",
        )
        .load(pg),
        DbConnection::Sqlite(sqlite) => {
            diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'trigger'").load(sqlite)
        }
    }
    .expect("triggers");
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|row| row.name)
        .filter(|name| !is_backend_search_structure(name) && !name.starts_with("customers_search_"))
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_schemas_match() {
    if test_databases::postgres_url().is_none() {
        assert!(
            std::env::var("PEYVAND_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "PEYVAND_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
        );
        eprintln!("schema parity needs TEST_DATABASE_URL; skipped");
        return;
    }
    let sqlite = TestDatabase::new(Backend::Sqlite);
    let postgres = TestDatabase::new(Backend::Postgres);
    let mut sqlite_conn = sqlite.pool().get().expect("sqlite connection");
    let mut pg_conn = postgres.pool().get().expect("postgres connection");

    let sqlite_columns = columns(&mut sqlite_conn);
    let pg_columns = columns(&mut pg_conn);
    assert!(sqlite_columns.contains_key("jobs") && sqlite_columns.contains_key("audit_events"));
    assert_eq!(
        sqlite_columns.keys().collect::<Vec<_>>(),
        pg_columns.keys().collect::<Vec<_>>(),
        "same tables"
    );
    for (table, columns) in &sqlite_columns {
        assert_eq!(
            Some(columns),
            pg_columns.get(table),
            "columns and nullability of {table}"
        );
    }
    let sqlite_indexes = index_names(&mut sqlite_conn);
    assert!(!sqlite_indexes.is_empty());
    assert_eq!(
        sqlite_indexes,
        index_names(&mut pg_conn),
        "same index names"
    );
    let sqlite_triggers = trigger_names(&mut sqlite_conn);
    assert!(sqlite_triggers.contains(&"deal_board_totals_update".to_owned()));
    assert_eq!(
        sqlite_triggers,
        trigger_names(&mut pg_conn),
        "same trigger names"
    );
}
