//! Channel accounts (`crm:configure`): the provider credentials are sealed with the
//! configured credential key before they are stored, are never returned, and are opened
//! only to check a webhook or to send. Rotating the key is configuring the new one
//! first and calling [`reseal_all`].

use channels::secrets::{CredentialCipher, Sealed, SecretError};
use domain::authz::Permission;
use domain::omnichannel::accounts::{
    ChannelAccountInput, ChannelKind, ChannelSettings, Credentials,
};
use persistence::audit;
use persistence::channel_accounts::ChannelAccountRow;
use persistence::db::DbConnection;
use persistence::jobs::NewJob;
use persistence::sql_types::{DbJson, DbTime, DbUuid};
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::precondition::Precondition;
use crate::transaction;

/// Most accounts a business may configure.
pub const MAX_ACCOUNTS: usize = 50;

/// An account as stored, its kind and settings read.
#[derive(Debug, Clone)]
pub struct ChannelAccount {
    pub row: ChannelAccountRow,
    pub kind: ChannelKind,
    pub settings: ChannelSettings,
}

impl ChannelAccount {
    pub fn of(row: ChannelAccountRow) -> AppResult<ChannelAccount> {
        let kind = ChannelKind::parse(&row.kind)
            .ok_or_else(|| AppError::Internal(format!("channel kind {:?}", row.kind)))?;
        let settings = serde_json::from_value(row.settings.0.clone())
            .map_err(|err| AppError::Internal(format!("channel settings: {err}")))?;
        Ok(ChannelAccount {
            row,
            kind,
            settings,
        })
    }

    /// The webhook path the provider is told to call; a web chat account's widget
    /// calls the widget API under its site key instead.
    pub fn webhook_path(&self) -> String {
        match (self.kind, &self.row.site_key) {
            (ChannelKind::WebChat, Some(site_key)) => format!("/api/v1/widget/{site_key}"),
            _ => format!(
                "/api/v1/webhooks/{}/{}",
                self.kind.as_str(),
                self.row.webhook_key
            ),
        }
    }

    /// What the audit log keeps of the account: never its credentials.
    fn audit_snapshot(&self) -> serde_json::Value {
        json!({
            "kind": self.kind.as_str(),
            "name": self.row.name,
            "active": self.row.active,
            "settings": self.row.settings.0,
            "credentials_key_id": self.row.credentials_key_id,
            "site_key": self.row.site_key,
        })
    }
}

fn sealing_failed(err: SecretError) -> AppError {
    AppError::Internal(format!("channel credentials: {err}"))
}

fn seal(cipher: &CredentialCipher, id: Uuid, credentials: &Credentials) -> AppResult<Sealed> {
    let plain =
        serde_json::to_vec(credentials).map_err(|err| AppError::Internal(err.to_string()))?;
    Ok(cipher.seal(id.as_bytes(), &plain))
}

/// The account's credentials, opened.
pub fn credentials(cipher: &CredentialCipher, account: &ChannelAccount) -> AppResult<Credentials> {
    let plain = cipher
        .open(
            account.row.id.0.as_bytes(),
            &Sealed {
                key_id: account.row.credentials_key_id.clone(),
                data: account.row.credentials_sealed.clone(),
            },
        )
        .map_err(sealing_failed)?;
    serde_json::from_slice(&plain).map_err(|err| AppError::Internal(format!("credentials: {err}")))
}

/// One credential field; a sealed document without it is broken.
pub fn credential<'a>(credentials: &'a Credentials, field: &str) -> AppResult<&'a str> {
    credentials
        .get(field)
        .map(String::as_str)
        .ok_or_else(|| AppError::Internal(format!("stored credentials lack {field}")))
}

/// A new webhook key: 32 random bytes, so the URL cannot be guessed.
fn new_webhook_key() -> String {
    let mut key = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    hex::encode(key)
}

/// A new site key: public, but random enough (16 bytes) that one site cannot find
/// another's widget by trying keys.
fn new_site_key() -> String {
    let mut key = [0_u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("ws_{}", hex::encode(key))
}

/// Job kind that reads one account's mailbox ([`super::mailbox`]).
pub const MAILBOX_FETCH: &str = "mailboxes.fetch";

/// Whether `account` reads a mailbox.
pub fn reads_mail(account: &ChannelAccount) -> bool {
    account.kind == ChannelKind::Email
        && account.row.active
        && account
            .settings
            .email
            .as_ref()
            .is_some_and(|email| email.imap.is_some())
}

/// Queues the read of `account`'s mailbox at `at` (one per account and minute).
pub fn schedule_mailbox_read(
    conn: &mut DbConnection,
    account: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let minute = at.timestamp() / 60;
    persistence::jobs::schedule(
        conn,
        NewJob {
            kind: MAILBOX_FETCH,
            payload: json!({"channel_account_id": account}),
            run_at: at,
            max_attempts: 3,
            created_by: None,
        },
        &format!("{MAILBOX_FETCH}:{account}:{minute}"),
    )?;
    Ok(())
}

/// Adds an account (`crm:configure`).
pub fn create(
    conn: &mut DbConnection,
    acting: &Acting,
    cipher: &CredentialCipher,
    input: ChannelAccountInput,
) -> AppResult<ChannelAccount> {
    acting.require(Permission::CrmConfigure)?;
    let (input, credentials) = input.validated(true).map_err(AppError::Invalid)?;
    let credentials = credentials.unwrap_or_default();
    transaction(conn, |conn| {
        if persistence::channel_accounts::list(conn)?.len() >= MAX_ACCOUNTS {
            return Err(AppError::Conflict(format!(
                "there are {MAX_ACCOUNTS} channel accounts, the most there may be"
            )));
        }
        let id = Uuid::now_v7();
        let sealed = seal(cipher, id, &credentials)?;
        let now = DbTime(persistence::now());
        let row = ChannelAccountRow {
            id: DbUuid(id),
            kind: input.kind.as_str().to_string(),
            name: input.name,
            active: input.active,
            settings: DbJson(
                serde_json::to_value(&input.settings)
                    .map_err(|err| AppError::Internal(err.to_string()))?,
            ),
            webhook_key: new_webhook_key(),
            credentials_key_id: sealed.key_id,
            credentials_sealed: sealed.data,
            created_by: acting.user_id.map(DbUuid),
            created_at: now,
            updated_at: now,
            version: 1,
            site_key: (input.kind == ChannelKind::WebChat).then(new_site_key),
        };
        persistence::channel_accounts::insert(conn, &row)?;
        let account = ChannelAccount::of(row)?;
        if reads_mail(&account) {
            schedule_mailbox_read(conn, id, persistence::now())?;
        }
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "channel_account.create",
            "channel_account",
            id,
            &json!({}),
            &account.audit_snapshot(),
        )?;
        Ok(account)
    })
}

/// Every account, by name (`crm:configure`).
pub fn list(conn: &mut DbConnection, acting: &Acting) -> AppResult<Vec<ChannelAccount>> {
    acting.require(Permission::CrmConfigure)?;
    persistence::channel_accounts::list(conn)?
        .into_iter()
        .map(ChannelAccount::of)
        .collect()
}

/// One account (`crm:configure`).
pub fn get(conn: &mut DbConnection, acting: &Acting, id: Uuid) -> AppResult<ChannelAccount> {
    acting.require(Permission::CrmConfigure)?;
    ChannelAccount::of(persistence::channel_accounts::find(conn, id)?)
}

/// The document a merge patch of an account applies to (credentials are write-only,
/// so absent).
pub fn input_of(account: &ChannelAccount) -> ChannelAccountInput {
    ChannelAccountInput {
        kind: account.kind,
        name: account.row.name.clone(),
        active: account.row.active,
        settings: account.settings.clone(),
        credentials: None,
    }
}

/// Changes an account (`crm:configure`); credentials given replace the stored ones.
/// Its kind cannot change.
pub fn update(
    conn: &mut DbConnection,
    acting: &Acting,
    cipher: &CredentialCipher,
    id: Uuid,
    precondition: &Precondition,
    edit: impl FnOnce(&ChannelAccountInput) -> AppResult<ChannelAccountInput>,
) -> AppResult<ChannelAccount> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = ChannelAccount::of(persistence::channel_accounts::find(conn, id)?)?;
        precondition.check(id, current.row.version)?;
        let edited = edit(&input_of(&current))?;
        if edited.kind != current.kind {
            return Err(AppError::field(
                "kind",
                "immutable",
                "an account's kind cannot change; add another account",
            ));
        }
        let (input, credentials) = edited.validated(false).map_err(AppError::Invalid)?;
        let mut row = current.row.clone();
        row.name = input.name;
        row.active = input.active;
        row.settings = DbJson(
            serde_json::to_value(&input.settings)
                .map_err(|err| AppError::Internal(err.to_string()))?,
        );
        if let Some(credentials) = credentials {
            let sealed = seal(cipher, id, &credentials)?;
            row.credentials_key_id = sealed.key_id;
            row.credentials_sealed = sealed.data;
        }
        let row = persistence::channel_accounts::update(conn, &row, current.row.version)?;
        let account = ChannelAccount::of(row)?;
        // New settings or a new password are tried at once; a running series of
        // reads is not doubled (one occurrence per account and minute).
        if reads_mail(&account) {
            schedule_mailbox_read(conn, id, persistence::now())?;
        }
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "channel_account.update",
            "channel_account",
            id,
            &current.audit_snapshot(),
            &account.audit_snapshot(),
        )?;
        Ok(account)
    })
}

/// Gives a web chat account a new site key (`crm:configure`): the old one answers 404
/// from then on, so a widget copied to a site it should not run on stops working once
/// the business's own pages carry the new key. Honours `precondition`.
pub fn rotate_site_key(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<ChannelAccount> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = ChannelAccount::of(persistence::channel_accounts::find(conn, id)?)?;
        precondition.check(id, current.row.version)?;
        if current.kind != ChannelKind::WebChat {
            return Err(AppError::Conflict(
                "only a web_chat account has a site key".into(),
            ));
        }
        let mut row = current.row.clone();
        row.site_key = Some(new_site_key());
        let row = persistence::channel_accounts::update(conn, &row, current.row.version)?;
        let account = ChannelAccount::of(row)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "channel_account.rotate_site_key",
            "channel_account",
            id,
            &current.audit_snapshot(),
            &account.audit_snapshot(),
        )?;
        Ok(account)
    })
}

/// Deletes an account (`crm:configure`) that no conversation uses; one that has
/// conversations is deactivated instead, keeping them.
pub fn delete(
    conn: &mut DbConnection,
    acting: &Acting,
    id: Uuid,
    precondition: &Precondition,
) -> AppResult<()> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let current = ChannelAccount::of(persistence::channel_accounts::find(conn, id)?)?;
        precondition.check(id, current.row.version)?;
        if persistence::conversations::account_in_use(conn, id)? {
            return Err(AppError::Conflict(
                "the account has conversations; deactivate it instead (\"active\": false)".into(),
            ));
        }
        persistence::channel_accounts::delete(conn, id)?;
        audit::record_change(
            conn,
            &acting.audit_actor(),
            "channel_account.delete",
            "channel_account",
            id,
            &current.audit_snapshot(),
            &json!({}),
        )?;
        Ok(())
    })
}

/// Re-seals every account's credentials with the newest configured key
/// (`crm:configure`); answers how many changed key. Once it has run, older keys can
/// be removed from the configuration.
pub fn reseal_all(
    conn: &mut DbConnection,
    acting: &Acting,
    cipher: &CredentialCipher,
) -> AppResult<usize> {
    acting.require(Permission::CrmConfigure)?;
    transaction(conn, |conn| {
        let mut resealed = 0;
        for row in persistence::channel_accounts::list(conn)? {
            if row.credentials_key_id == cipher.current_key_id() {
                continue;
            }
            let account = ChannelAccount::of(row)?;
            let credentials = credentials(cipher, &account)?;
            let sealed = seal(cipher, account.row.id.0, &credentials)?;
            let mut row = account.row.clone();
            row.credentials_key_id = sealed.key_id;
            row.credentials_sealed = sealed.data;
            persistence::channel_accounts::update(conn, &row, account.row.version)?;
            resealed += 1;
        }
        audit::record(
            conn,
            &acting.audit_actor(),
            audit::NewAuditEvent {
                action: "channel_account.reseal",
                resource_type: "channel_account",
                resource_id: None,
                changes: Some(json!({
                    "resealed": resealed,
                    "key_id": cipher.current_key_id(),
                })),
            },
        )?;
        Ok(resealed)
    })
}
