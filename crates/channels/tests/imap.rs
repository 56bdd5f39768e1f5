//! Reading a mailbox from a real IMAP server: pymap (a Python IMAP server) with its
//! in-memory backend, started on a free port for each test and killed when the test
//! ends. pymap comes from tests/contract/requirements.txt; the test looks for it in
//! `PEYVAND_TEST_PYTHON`, else in the workspace's `.venv` that `make test` installs.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use channels::email_inbound;
use channels::imap::{fetch_new, Cursor, FetchError, ImapServer, Security};
use channels::Sender;
use chrono::Utc;

const USER: &str = "demouser";
const PASSWORD: &str = "demopass";
const MAILBOX: &str = "Support";

/// A pymap server, killed when dropped.
struct Pymap {
    child: Child,
    port: u16,
}

impl Drop for Pymap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> PathBuf {
    let python = std::env::var_os("PEYVAND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
        });
    let has_pymap = Command::new(&python)
        .args(["-c", "import pymap"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        has_pymap,
        "{} has no pymap (the IMAP server these tests run against): run `make test`, \
         or `pip install -r tests/contract/requirements.txt` into a .venv at the \
         workspace root, or set PEYVAND_TEST_PYTHON to a Python that has it",
        python.display()
    );
    python
}

impl Pymap {
    /// Starts pymap's in-memory backend with its demo user, without TLS, on a free
    /// port, and waits until it accepts connections.
    fn start() -> Pymap {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log_path = std::env::temp_dir().join(format!("peyvand-pymap-{port}.log"));
        let log = File::create(&log_path).expect("pymap's log file");
        let child = Command::new(python())
            .args([
                "-c",
                "import sys; from pymap.main import main; sys.exit(main())",
            ])
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--no-tls",
            ])
            // Services that would listen on fixed ports when their extras are installed.
            .args(["--no-service", "admin", "--no-service", "managesieve"])
            .args(["--no-service", "swim", "dict", "--demo-data"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("pymap's log file"))
            .stderr(log)
            .spawn()
            .expect("pymap starts");
        let mut server = Pymap { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "pymap exited with {status}: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "pymap did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn settings(&self) -> ImapServer<'static> {
        ImapServer {
            host: "127.0.0.1",
            port: self.port,
            security: Security::None,
            username: USER,
            password: PASSWORD,
            mailbox: MAILBOX,
        }
    }

    /// A session of the `imap` crate itself, to put mail in the mailbox as a mail
    /// server would.
    fn session(&self) -> imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        let mut client = imap::Client::new(tcp);
        client.read_greeting().expect("greeting");
        client
            .login(USER, PASSWORD)
            .map_err(|(err, _)| err)
            .expect("login")
    }

    fn deliver(&self, raw: &str) {
        let mut session = self.session();
        session
            .append(MAILBOX, raw.as_bytes())
            .finish()
            .expect("APPEND");
        session.logout().expect("LOGOUT");
    }

    fn with_mailbox() -> Pymap {
        let server = Pymap::start();
        let mut session = server.session();
        session.create(MAILBOX).expect("CREATE");
        session.logout().expect("LOGOUT");
        server
    }
}

/// A Persian customer's first message: UTF-8, base64, an RFC 2047 name.
const FIRST: &str = "From: =?UTF-8?B?2LnZhNuMINix2LbYp9uM24w=?= <ali.rezaei@gmail.com>\r\n\
To: support@peyvand.example\r\n\
Subject: =?UTF-8?B?2b7bjNqv24zYsduMINiz2YHYp9ix2LQ=?=\r\n\
Date: Tue, 14 May 2024 13:42:30 +0330\r\n\
Message-ID: <first-1@mail.gmail.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
2LPZhNin2YUg2LPZgdin2LHYtCDbsduy27PbtCDaqduMINmF24zigIzYsdiz2K/YnwrYudmE24w=\r\n";

/// Its reply to the business's answer: quoted-printable, In-Reply-To, Gmail's quote.
const REPLY: &str = "From: =?UTF-8?B?2LnZhNuMINix2LbYp9uM24w=?= <ali.rezaei@gmail.com>\r\n\
To: support@peyvand.example\r\n\
Subject: =?UTF-8?B?UmU6INm+24zar9uM2LHbjCDYs9mB2KfYsdi0?=\r\n\
Date: Tue, 14 May 2024 15:00:00 +0330\r\n\
Message-ID: <reply-2@mail.gmail.com>\r\n\
In-Reply-To: <answer-1@peyvand.example>\r\n\
References: <first-1@mail.gmail.com> <answer-1@peyvand.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
=D9=85=D9=85=D9=86=D9=88=D9=86=D8=8C =D8=B1=D8=B3=DB=8C=D8=AF.\r\n\
\r\n\
=D8=AF=D8=B1 =D8=AA=D8=A7=D8=B1=DB=8C=D8=AE =D8=B3=D9=87=E2=80=8C=D8=B4=D9=\r\n\
=86=D8=A8=D9=87 =D9=BE=D8=B4=D8=AA=DB=8C=D8=A8=D8=A7=D9=86=DB=8C <support@p=\r\n\
eyvand.example> =D9=86=D9=88=D8=B4=D8=AA:\r\n\
\r\n\
> =D8=A7=D8=B1=D8=B3=D8=A7=D9=84 =D8=B4=D8=AF.\r\n";

const LATER: &str = "From: Sara Karimi <sara@shop.example>\r\n\
To: support@peyvand.example\r\n\
Subject: Invoice\r\n\
Date: Wed, 15 May 2024 09:00:00 +0000\r\n\
Message-ID: <later-3@shop.example>\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Please send the invoice again.\r\n";

#[test]
fn new_mail_is_fetched_once_in_uid_order() {
    let server = Pymap::with_mailbox();
    let empty = fetch_new(&server.settings(), Cursor::default(), 10).unwrap();
    assert!(empty.messages.is_empty() && !empty.more);
    assert_ne!(empty.cursor.uid_validity, 0);
    assert_eq!(empty.cursor.last_uid, 0);

    server.deliver(FIRST);
    server.deliver(REPLY);

    let batch = fetch_new(&server.settings(), Cursor::default(), 10).unwrap();
    assert!(!batch.more);
    let uids: Vec<u32> = batch.messages.iter().map(|message| message.uid).collect();
    assert_eq!(uids.len(), 2);
    assert!(uids[0] < uids[1]);
    assert_ne!(batch.cursor.uid_validity, 0);
    assert_eq!(batch.cursor.last_uid, uids[1]);

    let first = email_inbound::parse(&batch.messages[0].raw, Utc::now()).unwrap();
    assert_eq!(
        first.message.sender,
        Sender::Email("ali.rezaei@gmail.com".into())
    );
    assert_eq!(first.message.sender_name.as_deref(), Some("علی رضایی"));
    assert_eq!(first.message.provider_message_id, "first-1@mail.gmail.com");
    assert_eq!(first.message.text, "سلام سفارش ۱۲۳۴ کی می‌رسد؟\nعلی");
    assert_eq!(first.subject.as_deref(), Some("پیگیری سفارش"));
    let reply = email_inbound::parse(&batch.messages[1].raw, Utc::now()).unwrap();
    assert_eq!(reply.message.text, "ممنون، رسید.");
    assert_eq!(reply.in_reply_to, ["answer-1@peyvand.example"]);
    assert_eq!(
        reply.references,
        ["first-1@mail.gmail.com", "answer-1@peyvand.example"]
    );
    assert_eq!(
        reply.message.sent_at.to_rfc3339(),
        "2024-05-14T11:30:00+00:00"
    );

    let again = fetch_new(&server.settings(), batch.cursor, 10).unwrap();
    assert!(again.messages.is_empty());
    assert_eq!(again.cursor, batch.cursor);

    server.deliver(LATER);
    let later = fetch_new(&server.settings(), batch.cursor, 10).unwrap();
    assert_eq!(later.messages.len(), 1);
    assert!(later.messages[0].uid > uids[1]);
    let parsed = email_inbound::parse(&later.messages[0].raw, Utc::now()).unwrap();
    assert_eq!(parsed.message.provider_message_id, "later-3@shop.example");
    assert_eq!(later.cursor.last_uid, later.messages[0].uid);
}

#[test]
fn a_limit_leaves_the_rest_for_the_next_call_and_a_new_uidvalidity_starts_over() {
    let server = Pymap::with_mailbox();
    for raw in [FIRST, REPLY, LATER] {
        server.deliver(raw);
    }
    let settings = server.settings();
    let first = fetch_new(&settings, Cursor::default(), 2).unwrap();
    assert_eq!(first.messages.len(), 2);
    assert!(first.more);
    let rest = fetch_new(&settings, first.cursor, 2).unwrap();
    assert_eq!(rest.messages.len(), 1);
    assert!(!rest.more);
    assert!(rest.messages[0].uid > first.cursor.last_uid);

    // A cursor from another UIDVALIDITY names UIDs that mean nothing now.
    let stale = Cursor {
        uid_validity: rest.cursor.uid_validity.wrapping_add(1),
        last_uid: rest.cursor.last_uid,
    };
    let over = fetch_new(&settings, stale, 10).unwrap();
    assert_eq!(over.messages.len(), 3);
    assert_eq!(over.cursor, rest.cursor);
}

#[test]
fn refusals_are_told_from_outages() {
    let server = Pymap::with_mailbox();
    let settings = server.settings();

    let wrong_password = ImapServer {
        password: "not-the-password",
        ..settings.clone()
    };
    let err = fetch_new(&wrong_password, Cursor::default(), 10).unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not-the-password"));
    assert!(!format!("{wrong_password:?}").contains("not-the-password"));

    let no_mailbox = ImapServer {
        mailbox: "Nowhere",
        ..settings.clone()
    };
    let err = fetch_new(&no_mailbox, Cursor::default(), 10).unwrap_err();
    assert!(matches!(err, FetchError::Refused(_)), "{err:?}");

    // pymap without TLS offers no STARTTLS: the settings are wrong, not the server.
    let starttls = ImapServer {
        security: Security::Starttls,
        ..settings.clone()
    };
    let err = fetch_new(&starttls, Cursor::default(), 10).unwrap_err();
    assert!(matches!(err, FetchError::Refused(_)), "{err:?}");

    let port = server.port;
    drop(server);
    let gone = ImapServer { port, ..settings };
    let err = fetch_new(&gone, Cursor::default(), 10).unwrap_err();
    assert!(matches!(err, FetchError::Unavailable(_)), "{err:?}");
}
