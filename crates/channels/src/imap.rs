//! Polling a business mailbox over IMAP (RFC 3501) for the mail customers sent: each
//! call logs in, opens the mailbox read-only, fetches the messages after a cursor in
//! UID order and logs out. Blocking, for job threads, like the outbound adapters.
//!
//! The cursor is the mailbox's UIDVALIDITY and the last UID taken. UIDs only grow
//! within one UIDVALIDITY; when the server changes it (a rebuilt mailbox), the old UIDs
//! mean nothing and fetching starts over from the first message, so the caller must
//! recognise messages it already has by their Message-ID.
//!
//! TLS is rustls with the bundled web PKI roots, as for the HTTP adapters, so no system
//! OpenSSL or certificate store is involved.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ::imap::{Client, Session};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

pub use crate::email::Security;

/// An IMAP server, the mailbox's login there and the mailbox to read.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapServer<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub username: &'a str,
    pub password: &'a str,
    /// The mailbox as the server names it (`INBOX`; modified UTF-7 for other
    /// scripts).
    pub mailbox: &'a str,
}

/// Printed without the password, so a server in a log or an error message never
/// shows it.
impl fmt::Debug for ImapServer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("mailbox", &self.mailbox)
            .finish()
    }
}

/// Where reading a mailbox got to. `Cursor::default()` has read nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY when `last_uid` was taken (0: none yet).
    pub uid_validity: u32,
    /// The highest UID taken (0: none).
    pub last_uid: u32,
}

/// One message as the server stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchedMessage {
    pub uid: u32,
    /// The whole RFC 5322 message, for `email_inbound::parse`.
    pub raw: Vec<u8>,
}

/// Printed without the message, which is a customer's mail.
impl fmt::Debug for FetchedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedMessage")
            .field("uid", &self.uid)
            .field("bytes", &self.raw.len())
            .finish()
    }
}

/// What one call brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The new messages in UID order.
    pub messages: Vec<FetchedMessage>,
    /// Where the next call starts: store it once the messages are stored.
    pub cursor: Cursor,
    /// More new messages wait than one call takes: call again soon.
    pub more: bool,
}

/// Why a mailbox could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    /// The server refused the username and password: retrying cannot help until
    /// someone changes them.
    #[error("the IMAP server refused the login: {0}")]
    AuthenticationFailed(String),
    /// The settings are wrong for good: no such mailbox, an invalid certificate, a host
    /// name that is not one.
    #[error("the IMAP server refused: {0}")]
    Refused(String),
    /// The server could not be reached or failed on its side: a later attempt may
    /// succeed.
    #[error("the IMAP server is unavailable: {0}")]
    Unavailable(String),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous, since one read may carry a large message.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The messages of `server.mailbox` after `cursor`, at most `limit` (at least one) in
/// UID order, with the cursor to continue from. The mailbox is opened read-only
/// (EXAMINE, BODY.PEEK), so the business's own mail client still sees the mail as
/// unread.
pub fn fetch_new(
    server: &ImapServer<'_>,
    cursor: Cursor,
    limit: usize,
) -> Result<Batch, FetchError> {
    let tcp = connect(server)?;
    match server.security {
        Security::None => {
            let mut client = Client::new(tcp);
            client.read_greeting().map_err(unavailable)?;
            read_mailbox(client, server, cursor, limit)
        }
        Security::Tls => {
            let mut client = Client::new(tls(server.host, tcp)?);
            client.read_greeting().map_err(unavailable)?;
            read_mailbox(client, server, cursor, limit)
        }
        Security::Starttls => {
            starttls(&tcp)?;
            // No greeting follows the handshake.
            read_mailbox(Client::new(tls(server.host, tcp)?), server, cursor, limit)
        }
    }
}

/// The plain-text start of a STARTTLS connection (RFC 3501 §6.2.1): the greeting,
/// the command, its OK. `imap` offers this only with its own TLS setup, hence these
/// few lines. The reader is dropped after the OK with anything it buffered past it, so
/// nothing slipped in before the handshake is ever read as the server's.
fn starttls(tcp: &TcpStream) -> Result<(), FetchError> {
    const TAG: &str = "s1 ";
    let mut reader = BufReader::new(tcp);
    let mut line = String::new();
    let mut next_line = |line: &mut String| {
        line.clear();
        // Bounded, so a server that never ends a line cannot exhaust memory.
        match Read::by_ref(&mut reader).take(8192).read_line(line) {
            Ok(0) => Err(FetchError::Unavailable(
                "the server closed the connection".into(),
            )),
            Ok(_) => Ok(()),
            Err(err) => Err(FetchError::Unavailable(err.to_string())),
        }
    };
    next_line(&mut line)?;
    if !line.starts_with("* OK") {
        return Err(FetchError::Unavailable(format!(
            "the server greeted with {:?}",
            line.trim_end()
        )));
    }
    let mut writer = tcp;
    writer
        .write_all(format!("{TAG}STARTTLS\r\n").as_bytes())
        .map_err(|err| FetchError::Unavailable(err.to_string()))?;
    loop {
        next_line(&mut line)?;
        if let Some(status) = line.strip_prefix(TAG).map(str::trim) {
            return if status.starts_with("OK") {
                Ok(())
            } else {
                Err(FetchError::Refused(format!("STARTTLS refused: {status}")))
            };
        }
    }
}

fn connect(server: &ImapServer<'_>) -> Result<TcpStream, FetchError> {
    let addresses = (server.host, server.port)
        .to_socket_addrs()
        .map_err(|err| {
            FetchError::Unavailable(format!("{}:{}: {err}", server.host, server.port))
        })?;
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let timeouts = stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)));
                timeouts.map_err(|err| FetchError::Unavailable(err.to_string()))?;
                return Ok(stream);
            }
            Err(err) => last_error = Some(err),
        }
    }
    Err(FetchError::Unavailable(match last_error {
        Some(err) => format!("{}:{}: {err}", server.host, server.port),
        None => format!("{} has no address", server.host),
    }))
}

/// The TLS client of `tcp` for `host`; the handshake happens on the first read or
/// write.
fn tls(host: &str, tcp: TcpStream) -> Result<StreamOwned<ClientConnection, TcpStream>, FetchError> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|err| FetchError::Refused(format!("{host:?} is not a host name: {err}")))?;
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // The provider is named rather than taken from the process default, which is
    // ambiguous when several rustls users in one binary enable different ones.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|err| FetchError::Refused(err.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let connection = ClientConnection::new(Arc::new(config), name)
        .map_err(|err| FetchError::Refused(err.to_string()))?;
    Ok(StreamOwned::new(connection, tcp))
}

fn read_mailbox<T: Read + Write>(
    client: Client<T>,
    server: &ImapServer<'_>,
    cursor: Cursor,
    limit: usize,
) -> Result<Batch, FetchError> {
    let mut session = client
        .login(server.username, server.password)
        .map_err(|(err, _)| login_failure(err))?;
    let batch = read_new(&mut session, server.mailbox, cursor, limit.max(1));
    // The messages are in hand; a failed goodbye changes nothing.
    let _ = session.logout();
    batch
}

/// Any refusal of LOGIN counts as a wrong login: `imap` does not know RFC 5530's
/// `[UNAVAILABLE]` that could tell a temporary refusal, and a login refused once is
/// better looked at than retried.
fn login_failure(err: ::imap::Error) -> FetchError {
    match err {
        ::imap::Error::No(no) => FetchError::AuthenticationFailed(no.information),
        ::imap::Error::Bad(bad) => FetchError::AuthenticationFailed(bad.information),
        ::imap::Error::Validate(err) => {
            FetchError::AuthenticationFailed(format!("the username or password has {err}"))
        }
        other => unavailable(other),
    }
}

fn read_new<T: Read + Write>(
    session: &mut Session<T>,
    mailbox: &str,
    cursor: Cursor,
    limit: usize,
) -> Result<Batch, FetchError> {
    let opened = session.examine(mailbox).map_err(|err| match err {
        ::imap::Error::No(no) => {
            FetchError::Refused(format!("mailbox {mailbox:?}: {}", no.information))
        }
        ::imap::Error::Bad(bad) => {
            FetchError::Refused(format!("mailbox {mailbox:?}: {}", bad.information))
        }
        ::imap::Error::Validate(err) => FetchError::Refused(format!("mailbox {mailbox:?}: {err}")),
        other => unavailable(other),
    })?;
    let uid_validity = opened
        .uid_validity
        .ok_or_else(|| FetchError::Refused(format!("mailbox {mailbox:?} has no UIDVALIDITY")))?;
    let after = if uid_validity == cursor.uid_validity {
        cursor.last_uid
    } else {
        0
    };
    // `n:*` also matches the highest UID when that is below n, hence the filter.
    let mut uids: Vec<u32> = session
        .uid_search(format!("UID {}:*", u64::from(after) + 1))
        .map_err(unavailable)?
        .into_iter()
        .filter(|&uid| uid > after)
        .collect();
    uids.sort_unstable();
    let more = uids.len() > limit;
    uids.truncate(limit);
    let Some(&highest) = uids.last() else {
        return Ok(Batch {
            messages: Vec::new(),
            cursor: Cursor {
                uid_validity,
                last_uid: after,
            },
            more: false,
        });
    };
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let fetches = session
        .uid_fetch(&set, "(UID BODY.PEEK[])")
        .map_err(unavailable)?;
    let mut messages = Vec::with_capacity(uids.len());
    for fetch in fetches.iter() {
        // Unsolicited FETCH responses (flag changes) carry no body and are not ours.
        let (Some(uid), Some(body)) = (fetch.uid, fetch.body()) else {
            continue;
        };
        if uids.binary_search(&uid).is_ok() {
            messages.push(FetchedMessage {
                uid,
                raw: body.to_vec(),
            });
        }
    }
    messages.sort_by_key(|message| message.uid);
    messages.dedup_by_key(|message| message.uid);
    // A UID found by the search but not fetched was expunged in between: it is gone
    // for good, so the cursor may pass it.
    Ok(Batch {
        messages,
        cursor: Cursor {
            uid_validity,
            last_uid: highest,
        },
        more,
    })
}

/// Everything but the server's refusals is the connection's fault: a later attempt
/// may succeed. An invalid certificate is the exception: it stays invalid.
fn unavailable(err: ::imap::Error) -> FetchError {
    if let ::imap::Error::Io(io) = &err {
        if let Some(rustls::Error::InvalidCertificate(reason)) = io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return FetchError::Refused(format!("invalid TLS certificate: {reason:?}"));
        }
    }
    FetchError::Unavailable(err.to_string())
}
