//! Inbound e-mail (O-2): an `email` account with an IMAP server has its mailbox read
//! every minute by the `mailboxes.fetch` job (and at once on `fetch_now`). Messages come
//! after the stored cursor (`channel_accounts.mailbox_cursor`, UIDVALIDITY and last
//! UID), each parsed by `channels::email_inbound` and ingested as any channel's message
//! — stored once by its Message-ID, the sender recognised by address, threaded into the
//! sender's conversation — with its subject kept for the answer's `Re:`. Automatic mail
//! (out-of-office notes, bounces, lists) is stored but never answered automatically.
//! The cursor moves only after a batch is stored, so a crash reads it again and the
//! Message-ID recognises what was stored.

use std::sync::Arc;

use channels::email::Security;
use channels::imap::{self, Cursor, FetchError, ImapServer};
use channels::secrets::CredentialCipher;
use domain::omnichannel::accounts::MailSecurity;
use persistence::db::DbConnection;
use serde_json::{json, Value};
use uuid::Uuid;

pub use super::accounts::MAILBOX_FETCH;
use super::accounts::{
    self, credential, reads_mail, schedule_mailbox_read as schedule, ChannelAccount,
};
use super::inbound::{self, Ingested, Receipt};
use crate::error::{AppError, AppResult};
use crate::jobs::{connection, JobContext, JobError, JobFailure, JobHandler};
use crate::transaction_kept_if;

/// How often a mailbox is read.
pub const POLL_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// Messages fetched per IMAP round trip.
const BATCH: usize = 50;
/// Batches per read: a mailbox with years of mail is read over several minutes rather
/// than holding a worker for hours.
const MAX_BATCHES: usize = 20;

fn parse_cursor(text: Option<&str>) -> Cursor {
    text.and_then(|text| text.split_once(':'))
        .and_then(|(validity, uid)| {
            Some(Cursor {
                uid_validity: validity.parse().ok()?,
                last_uid: uid.parse().ok()?,
            })
        })
        .unwrap_or_default()
}

/// Why a mailbox could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The server refused the login or the mailbox: someone must change the settings.
    #[error("{0}")]
    Refused(String),
    /// The server could not be reached: the next read may pass.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<persistence::PersistenceError> for MailboxError {
    fn from(err: persistence::PersistenceError) -> Self {
        MailboxError::App(err.into())
    }
}

/// Reads the new mail of the email account `id` and ingests it.
pub fn fetch(
    conn: &mut DbConnection,
    cipher: &CredentialCipher,
    id: Uuid,
) -> Result<Receipt, MailboxError> {
    let account = ChannelAccount::of(persistence::channel_accounts::find(conn, id)?)?;
    let Some(settings) = account
        .settings
        .email
        .clone()
        .filter(|_| reads_mail(&account))
    else {
        return Err(AppError::Conflict(
            "the account is no active e-mail account with an IMAP server".into(),
        )
        .into());
    };
    let imap_server = settings.imap.as_ref().expect("reads_mail checked it");
    let credentials = accounts::credentials(cipher, &account)?;
    let password = credential(&credentials, "imap_password").map_err(|_| {
        MailboxError::Refused("the account's credentials lack imap_password".into())
    })?;
    let server = ImapServer {
        host: &imap_server.host,
        port: imap_server.port,
        security: match imap_server.security {
            MailSecurity::Tls => Security::Tls,
            MailSecurity::Starttls => Security::Starttls,
            MailSecurity::None => Security::None,
        },
        username: &imap_server.username,
        password,
        mailbox: settings.mailbox.as_deref().unwrap_or("INBOX"),
    };
    let mut cursor =
        parse_cursor(persistence::channel_accounts::mailbox_cursor(conn, id)?.as_deref());
    let mut receipt = Receipt::default();
    for _ in 0..MAX_BATCHES {
        // No transaction is open while the server is asked.
        let batch = imap::fetch_new(&server, cursor, BATCH).map_err(|err| match err {
            FetchError::AuthenticationFailed(reason) | FetchError::Refused(reason) => {
                MailboxError::Refused(reason)
            }
            FetchError::Unavailable(reason) => MailboxError::Unavailable(reason),
        })?;
        let now = persistence::now();
        for fetched in &batch.messages {
            let Ok(email) = channels::email_inbound::parse(&fetched.raw, now) else {
                receipt.skipped += 1;
                continue;
            };
            let mail = inbound::MailFacts {
                subject: email.subject.as_deref(),
                automatic: email.automatic,
            };
            match transaction_kept_if(
                conn,
                |conn| inbound::ingest(conn, &account, &email.message, Some(&mail)),
                Ingested::is_new,
            )? {
                Ingested::Stored => receipt.stored += 1,
                Ingested::Replayed => receipt.replayed += 1,
                Ingested::Skipped => receipt.skipped += 1,
            }
        }
        cursor = batch.cursor;
        persistence::channel_accounts::set_mailbox_cursor(
            conn,
            id,
            &format!("{}:{}", cursor.uid_validity, cursor.last_uid),
        )?;
        if !batch.more {
            break;
        }
    }
    Ok(receipt)
}

/// Reads the account's mailbox now (`crm:configure`): what an administrator does after
/// setting it up, or to see why it fails. A refused login or mailbox is 409 with the
/// server's reason; an unreachable server 503.
pub fn fetch_now(
    conn: &mut DbConnection,
    acting: &crate::acting::Acting,
    cipher: &CredentialCipher,
    id: Uuid,
) -> AppResult<Receipt> {
    acting.require(domain::authz::Permission::CrmConfigure)?;
    fetch(conn, cipher, id).map_err(|err| match err {
        MailboxError::Refused(reason) => {
            AppError::Conflict(format!("the mail server refused: {reason}"))
        }
        MailboxError::Unavailable(reason) => {
            AppError::Unavailable(format!("the mail server: {reason}"))
        }
        MailboxError::App(err) => err,
    })
}

/// Reads the mailboxes: the `mailboxes.fetch` job. Each run queues the next minute's
/// while the account still reads mail, whatever this one's outcome.
pub struct MailboxFetchJob {
    cipher: Arc<CredentialCipher>,
}

impl MailboxFetchJob {
    pub fn new(cipher: Arc<CredentialCipher>) -> MailboxFetchJob {
        MailboxFetchJob { cipher }
    }
}

impl JobHandler for MailboxFetchJob {
    fn run(&self, ctx: &JobContext<'_>) -> Result<Value, JobError> {
        let id: Uuid = serde_json::from_value(ctx.payload()["channel_account_id"].clone())
            .map_err(|err| JobError::internal(format!("channel account id: {err}")))?;
        let mut conn = connection(ctx.pool())?;
        let account = match persistence::channel_accounts::find(&mut conn, id) {
            Ok(row) => ChannelAccount::of(row)?,
            // Deleted since: its reads stop.
            Err(persistence::PersistenceError::NotFound) => return Ok(json!({"stopped": true})),
            Err(other) => return Err(AppError::from(other).into()),
        };
        if !reads_mail(&account) {
            return Ok(json!({"stopped": true}));
        }
        let outcome = fetch(&mut conn, &self.cipher, id);
        schedule(&mut conn, id, persistence::now() + POLL_INTERVAL)?;
        match outcome {
            Ok(receipt) => Ok(json!({
                "stored": receipt.stored, "replayed": receipt.replayed, "skipped": receipt.skipped
            })),
            Err(MailboxError::Refused(reason)) => Err(JobError::Permanent(JobFailure::internal(
                "mailbox_refused",
                reason,
            ))),
            Err(MailboxError::Unavailable(reason)) => Err(JobError::Permanent(
                // The next minute's read is the retry.
                JobFailure::internal("mailbox_unavailable", reason),
            )),
            Err(MailboxError::App(err)) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_or_start_over() {
        assert_eq!(
            parse_cursor(Some("1700000000:42")),
            Cursor {
                uid_validity: 1_700_000_000,
                last_uid: 42
            }
        );
        for broken in [None, Some(""), Some("x:1"), Some("12")] {
            assert_eq!(parse_cursor(broken), Cursor::default());
        }
    }
}
