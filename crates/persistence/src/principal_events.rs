//! Telling every server process that shares a PostgreSQL database that a principal
//! changed (a user's role, team or state; sessions revoked), so that each forgets what
//! it cached at once instead of when the cache entry runs out. Sent with `NOTIFY` on
//! [`CHANNEL`] and received by a [`PrincipalListener`] per process. SQLite has no such
//! mechanism; processes sharing a SQLite file rely on the cache's short lifetime.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{BackendKind, DbConnection};
use crate::PersistenceError;

/// The notification channel.
pub const CHANNEL: &str = "peyvand_principals";

/// Sessions named per notification: PostgreSQL takes payloads of under 8,000 bytes.
const SESSIONS_PER_NOTICE: usize = 100;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalEvent {
    /// The user's account changed (role, team, visibility, password, deactivation).
    UserChanged { user_id: Uuid },
    /// These sessions (refresh-token families) were revoked.
    SessionsEnded { sessions: Vec<Uuid> },
}

/// Tells the other processes (PostgreSQL; nothing on SQLite). Outside a transaction it
/// is sent at once; inside one, when it commits.
pub fn announce(conn: &mut DbConnection, event: &PrincipalEvent) -> Result<(), PersistenceError> {
    if matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(());
    }
    let events = match event {
        PrincipalEvent::SessionsEnded { sessions } if sessions.len() > SESSIONS_PER_NOTICE => {
            sessions
                .chunks(SESSIONS_PER_NOTICE)
                .map(|chunk| PrincipalEvent::SessionsEnded {
                    sessions: chunk.to_vec(),
                })
                .collect()
        }
        PrincipalEvent::SessionsEnded { sessions } if sessions.is_empty() => Vec::new(),
        event => vec![event.clone()],
    };
    for event in events {
        let payload = serde_json::to_string(&event)
            .map_err(|err| PersistenceError::Corrupt(err.to_string()))?;
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(conn)?;
    }
    Ok(())
}

/// A connection of its own that listens on [`CHANNEL`].
pub struct PrincipalListener {
    conn: PgConnection,
}

impl PrincipalListener {
    /// Listens on the database at `url`; `None` for SQLite.
    pub fn connect(url: &str) -> Result<Option<PrincipalListener>, PersistenceError> {
        if BackendKind::of_url(url) != BackendKind::Postgres {
            return Ok(None);
        }
        let mut conn =
            PgConnection::establish(url).map_err(|err| PersistenceError::Pool(err.to_string()))?;
        conn.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        Ok(Some(PrincipalListener { conn }))
    }

    /// The events received since the last call, without waiting. A payload that is not
    /// an event (sent by something else on the channel) is skipped.
    pub fn take(&mut self) -> Result<Vec<PrincipalEvent>, PersistenceError> {
        let mut events = Vec::new();
        for notification in self.conn.notifications_iter() {
            let notification = notification?;
            if let Ok(event) = serde_json::from_str(&notification.payload) {
                events.push(event);
            }
        }
        Ok(events)
    }
}
