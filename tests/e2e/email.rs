//! E-mail as a channel (O-3): an agent writes to a customer and answers them over real
//! SMTP — aiosmtpd on a loopback port, with AUTH — and what arrives there is checked
//! byte for byte: the sender's name, the subject (RFC 2047), threading, and RFC 8058's
//! one-click unsubscribe, whose link then withdraws the customer's consent so the next
//! e-mail is refused. A recipient the server refuses for good fails the message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use e2e::support::{
    backends, create_customer, created, field_codes, id_of, person, send, settled_message, TestApp,
};

const SMTP_USER: &str = "support@example.ir";
const SMTP_PASSWORD: &str = "smtp-secret-4711";

/// A Python with the test servers' packages: `PEYVAND_TEST_PYTHON`, else the
/// repository's `.venv` that `make test` installs.
fn python() -> PathBuf {
    let python = std::env::var_os("PEYVAND_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let usable = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        usable,
        "{} cannot import aiosmtpd: run `make test`, or `pip install -r tests/contract/requirements.txt` \
         and point PEYVAND_TEST_PYTHON at that Python",
        python.display()
    );
    python
}

/// aiosmtpd serving on a free port, keeping what it accepts in a directory.
struct SmtpServer {
    port: u16,
    mail: tempfile::TempDir,
    child: Child,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let mail = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/smtp_server.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(mail.path())
            .args([SMTP_USER, SMTP_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the SMTP server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .expect("the SMTP server prints its port");
        SmtpServer { port, mail, child }
    }

    /// The messages accepted so far, in order.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(self.mail.path())
            .unwrap()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let number = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".eml")?
                    .parse()
                    .ok()?;
                Some((number, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| std::fs::read_to_string(path).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        // Closing its stdin stops the server; a kill makes sure.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of header `name` in a raw message (unfolded).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_string())
    })
}

/// A message's text body, its transfer encoding undone.
fn body_text(raw: &str) -> String {
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    match header(raw, "Content-Transfer-Encoding").as_deref() {
        Some("base64") => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap(),
            )
            .unwrap()
        }
        Some("quoted-printable") => {
            let mut bytes = Vec::new();
            let soft = body.replace("=\r\n", "");
            let mut rest = soft.as_bytes();
            while let Some((&first, tail)) = rest.split_first() {
                if first == b'=' && tail.len() >= 2 {
                    let hex = std::str::from_utf8(&tail[..2]).unwrap();
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                    rest = &tail[2..];
                } else {
                    bytes.push(first);
                    rest = tail;
                }
            }
            String::from_utf8(bytes).unwrap()
        }
        _ => body.to_string(),
    }
}

fn mailbox_settings(port: u16) -> Value {
    json!({
        "address": "Support@Example.ir",
        "display_name": "پشتیبانی پیوند",
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "username": SMTP_USER}
    })
}

#[test]
fn e_mail_goes_out_over_smtp_with_threading_and_one_click_unsubscribe() {
    for backend in backends() {
        let smtp = SmtpServer::start();
        let app = TestApp::spawn_with(backend, &["--public-url", "https://crm.example.ir/"]);
        let admin = app.admin_token();

        // An e-mail account needs its mailbox; other kinds take none.
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "email", "name": "Support", "credentials": {"smtp_password": "x"}}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("settings.email".into(), "required".into())]
        );
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "sms", "name": "Line", "settings": {"email": mailbox_settings(25)},
                        "credentials": {"api_key": "k"}}),
            ),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("settings.email".into(), "not_allowed".into())]
        );
        let mut broken = mailbox_settings(0);
        broken["address"] = "not-an-address".into();
        broken["smtp"]["host"] = "smtp example".into();
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/channel-accounts",
            &admin,
            Some(
                json!({"kind": "email", "name": "Support", "settings": {"email": broken},
                        "credentials": {"smtp_password": "x", "pop3_password": "y"}}),
            ),
        );
        assert_eq!(status, 422);
        let mut codes = field_codes(&problem);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                ("credentials.pop3_password".into(), "unknown_field".into()),
                ("settings.email.address".into(), "invalid_format".into()),
                ("settings.email.smtp.host".into(), "invalid_host".into()),
                ("settings.email.smtp.port".into(), "out_of_range".into()),
            ]
        );

        let account = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "email", "name": "پشتیبانی", "settings": {"email": mailbox_settings(smtp.port)},
                   "credentials": {"smtp_password": SMTP_PASSWORD}}),
        );
        assert_eq!(
            account["settings"]["email"]["address"],
            "support@example.ir"
        );
        assert!(!account.to_string().contains(SMTP_PASSWORD));
        let account_id = id_of(&account);
        let customer = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));

        // An e-mail needs a subject; the address must be the customer's.
        let start = json!({"channel_account_id": account_id, "customer_id": customer,
                           "body": "سلام سارا،\nپیش‌فاکتور سفارش شما پیوست است."});
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/conversations",
            &admin,
            Some(start.clone()),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("subject".into(), "required".into())]
        );
        let mut elsewhere = start.clone();
        elsewhere["subject"] = "x".into();
        elsewhere["to"] = "someone@else.ir".into();
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/conversations",
            &admin,
            Some(elsewhere),
        );
        assert_eq!(status, 422);
        assert_eq!(
            field_codes(&problem),
            vec![("to".into(), "not_an_address_of_customer".into())]
        );

        let mut first = start.clone();
        first["subject"] = "پیش‌فاکتور سفارش ۱۲".into();
        let started = created(&app, &admin, "/api/v1/conversations", first);
        let conversation = started["conversation"]["id"].as_str().unwrap().to_string();
        assert_eq!(started["conversation"]["contact_value"], "sara@example.ir");
        assert_eq!(started["conversation"]["customer_id"], customer.as_str());
        let sent = settled_message(
            &app,
            &conversation,
            started["message"]["id"].as_str().unwrap(),
        );
        assert_eq!(sent["status"], "sent", "{sent}");
        let message_id = sent["provider_message_id"].as_str().unwrap().to_string();
        assert!(message_id.ends_with("@example.ir"), "{message_id}");

        let mail = smtp.messages();
        assert_eq!(mail.len(), 1);
        let raw = &mail[0];
        assert_eq!(
            header(raw, "X-Authenticated-As").as_deref(),
            Some(SMTP_USER)
        );
        assert_eq!(
            header(raw, "X-Envelope-To").as_deref(),
            Some("sara@example.ir")
        );
        assert_eq!(
            header(raw, "Message-ID").as_deref(),
            Some(format!("<{message_id}>").as_str())
        );
        let from = header(raw, "From").unwrap();
        assert!(
            from.starts_with("=?utf-8?") && from.ends_with("<support@example.ir>"),
            "{from}"
        );
        assert!(header(raw, "Subject").unwrap().starts_with("=?utf-8?"));
        assert!(header(raw, "In-Reply-To").is_none());
        assert_eq!(
            header(raw, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let link = header(raw, "List-Unsubscribe").unwrap();
        let path = link
            .strip_prefix("<https://crm.example.ir")
            .and_then(|rest| rest.strip_suffix('>'))
            .unwrap_or_else(|| panic!("an HTTPS link on the public URL: {link}"))
            .to_string();
        assert!(path.starts_with("/api/v1/unsubscribe/"));
        assert_eq!(
            body_text(raw).replace("\r\n", "\n").trim_end(),
            "سلام سارا،\nپیش‌فاکتور سفارش شما پیوست است."
        );

        // A follow-up in the conversation answers its subject once.
        let follow_up = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "یادآوری"}),
        );
        assert_eq!(follow_up["subject"], "Re: پیش‌فاکتور سفارش ۱۲");
        assert_eq!(
            settled_message(&app, &conversation, follow_up["id"].as_str().unwrap())["status"],
            "sent"
        );

        // The link: opening it changes nothing, the one-click POST unsubscribes, and a
        // made-up token is not found.
        let page = app.client().get(app.url(&path)).send().unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().unwrap().contains("method=\"post\""));
        let (_, consents) = send(
            &app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/consents"),
            &admin,
            None,
        );
        assert!(!consents.to_string().contains("unsubscribe_link"));
        let forged = format!("{}x", &path[..path.len() - 1]);
        for target in [forged.as_str(), "/api/v1/unsubscribe/nothing"] {
            let response = app
                .client()
                .post(app.url(target))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .unwrap();
            assert_eq!(response.status(), 404, "{target}");
        }
        for _ in 0..2 {
            let response = app
                .client()
                .post(app.url(&path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.json::<Value>().unwrap()["channel"], "email");
        }
        let (_, consents) = send(
            &app,
            Method::GET,
            &format!("/api/v1/customers/{customer}/consents"),
            &admin,
            None,
        );
        let withdrawn: Vec<&Value> = consents["ledger"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| event["source"] == "unsubscribe_link")
            .collect();
        assert!(
            withdrawn.iter().any(|event| event["channel"] == "email"
                && event["purpose"] == "marketing"
                && event["granted"] == false),
            "{consents}"
        );
        let refused = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "پیام بعدی"}),
        );
        assert_eq!(refused["status"], "refused", "{refused}");
        assert_eq!(smtp.messages().len(), 2, "nothing more was sent");

        // A recipient the server refuses for good fails the message with its reason.
        let unknown = id_of(&create_customer(
            &app,
            &admin,
            person("نیما", "رضایی", "09351234567", "reject@example.ir"),
        ));
        let started = created(
            &app,
            &admin,
            "/api/v1/conversations",
            json!({"channel_account_id": account_id, "customer_id": unknown,
                   "subject": "سلام", "body": "سلام"}),
        );
        let failed = settled_message(
            &app,
            started["conversation"]["id"].as_str().unwrap(),
            started["message"]["id"].as_str().unwrap(),
        );
        assert_eq!(failed["status"], "failed", "{failed}");
        assert!(
            failed["error"].as_str().unwrap().contains("550"),
            "{failed}"
        );
    }
}

#[test]
fn only_those_who_see_a_customer_may_write_to_them() {
    for backend in backends() {
        let smtp = SmtpServer::start();
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        let account = id_of(&created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "email", "name": "Support", "settings": {"email": mailbox_settings(smtp.port)},
                   "credentials": {"smtp_password": SMTP_PASSWORD}}),
        ));
        let customer = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let (_, email, password) = app.create_user("sales", Some("own"));
        let seller = app.login(&email, &password).access_token;
        let (status, problem) = send(
            &app,
            Method::POST,
            "/api/v1/conversations",
            &seller,
            Some(
                json!({"channel_account_id": account, "customer_id": customer,
                        "subject": "سلام", "body": "سلام"}),
            ),
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("customer_id".into(), "not_found".into())]
        );
        let (_, email, password) = app.create_user("read_only", None);
        let viewer = app.login(&email, &password).access_token;
        let (status, _) = send(
            &app,
            Method::POST,
            "/api/v1/conversations",
            &viewer,
            Some(
                json!({"channel_account_id": account, "customer_id": customer,
                        "subject": "سلام", "body": "سلام"}),
            ),
        );
        assert_eq!(status, 403);
        assert!(smtp.messages().is_empty());
    }
}

/// pymap (a Python IMAP server) with its in-memory backend and demo user, without TLS,
/// on a free port; killed when dropped.
struct ImapServer {
    port: u16,
    child: Child,
}

const IMAP_USER: &str = "demouser";
const IMAP_PASSWORD: &str = "demopass";

impl ImapServer {
    fn start() -> ImapServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
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
            .args(["--no-service", "admin", "--no-service", "managesieve"])
            .args(["--no-service", "swim", "dict", "--demo-data"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pymap starts");
        let server = ImapServer { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "pymap listens within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Creates `mailbox` and delivers `messages` into it, as a mail server would.
    fn deliver(&self, mailbox: &str, messages: &[&str]) {
        let script = "import imaplib, sys, json\n\
            port, mailbox, messages = int(sys.argv[1]), sys.argv[2], json.loads(sys.stdin.read())\n\
            imap = imaplib.IMAP4('127.0.0.1', port)\n\
            imap.login(sys.argv[3], sys.argv[4])\n\
            imap.create(mailbox)\n\
            for raw in messages:\n    \
                status, _ = imap.append(mailbox, None, None, raw.encode())\n    \
                assert status == 'OK', status\n\
            imap.logout()\n";
        let mut child = Command::new(python())
            .args([
                "-c",
                script,
                &self.port.to_string(),
                mailbox,
                IMAP_USER,
                IMAP_PASSWORD,
            ])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            serde_json::to_string(messages).unwrap().as_bytes(),
        )
        .unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success(), "delivering into pymap");
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const FROM_CUSTOMER: &str = "From: =?UTF-8?B?2LPYp9ix2Kcg2YXYrdmF2K/bjA==?= <Sara@Example.ir>\r\n\
To: support@example.ir\r\n\
Subject: =?UTF-8?B?2LPZgdin2LHYtCDbsduy?=\r\n\
Message-ID: <first-1@mail.example.ir>\r\n\
Date: Fri, 04 Dec 2026 09:00:00 +0330\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
2LPZgdin2LHYtCDZhdmGINqp24wg2YXbjOKAjNix2LPYrw==\r\n";

const FROM_STRANGER: &str = "From: Nobody Known <new.person@example.com>\r\n\
To: support@example.ir\r\n\
Subject: Price list\r\n\
Message-ID: <stranger-1@example.com>\r\n\
Date: Fri, 04 Dec 2026 09:05:00 +0000\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
\r\n\
Could you send me your price list?\r\n";

const OUT_OF_OFFICE: &str = "From: Away Person <away@example.org>\r\n\
To: support@example.ir\r\n\
Subject: Automatic reply: Price list\r\n\
Auto-Submitted: auto-replied\r\n\
Message-ID: <ooo-1@example.org>\r\n\
Date: Fri, 04 Dec 2026 09:06:00 +0000\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
\r\n\
I am out of the office until Sunday.\r\n";

#[test]
fn mail_in_the_mailbox_becomes_conversations_and_answers_thread_to_it() {
    for backend in backends() {
        let imap = ImapServer::start();
        imap.deliver("Support", &[FROM_CUSTOMER, FROM_STRANGER, OUT_OF_OFFICE]);
        let smtp = SmtpServer::start();
        let app = TestApp::spawn(backend);
        let admin = app.admin_token();
        let customer = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        let mut settings = mailbox_settings(smtp.port);
        settings["imap"] = json!({"host": "127.0.0.1", "port": imap.port, "security": "none",
                                  "username": IMAP_USER});
        settings["mailbox"] = "Support".into();

        // A wrong password is the server's refusal, told to the administrator.
        let wrong = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "email", "name": "Wrong", "settings": {"email": settings.clone()},
                   "credentials": {"smtp_password": SMTP_PASSWORD, "imap_password": "nope"}}),
        );
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("/api/v1/channel-accounts/{}/fetch", id_of(&wrong)),
            &admin,
            None,
        );
        assert_eq!(status, 409, "{problem}");
        let (status, _) = send(
            &app,
            Method::DELETE,
            &format!("/api/v1/channel-accounts/{}", id_of(&wrong)),
            &admin,
            None,
        );
        assert_eq!(status, 204);

        let account = id_of(&created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "email", "name": "پشتیبانی", "settings": {"email": settings},
                   "credentials": {"smtp_password": SMTP_PASSWORD, "imap_password": IMAP_PASSWORD}}),
        ));
        // Reading a mailbox now is the business's configuration, not an agent's.
        let (_, agent_email, agent_password) = app.create_user("support", None);
        let agent = app.login(&agent_email, &agent_password).access_token;
        let (status, _) = send(
            &app,
            Method::POST,
            &format!("/api/v1/channel-accounts/{account}/fetch"),
            &agent,
            None,
        );
        assert_eq!(status, 403);
        // The account's first read is queued at once; reading now as well stores
        // nothing twice.
        let (status, read) = send(
            &app,
            Method::POST,
            &format!("/api/v1/channel-accounts/{account}/fetch"),
            &admin,
            None,
        );
        assert_eq!(status, 200, "{read}");
        let (_, page) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations?channel_account_id={account}"),
            &admin,
            None,
        );
        let conversations = page["data"].as_array().unwrap();
        assert_eq!(conversations.len(), 3, "{page}");
        let by = |address: &str| {
            conversations
                .iter()
                .find(|conversation| conversation["contact_value"] == address)
                .unwrap_or_else(|| panic!("a conversation with {address}: {page}"))
                .clone()
        };
        let sara = by("sara@example.ir");
        assert_eq!(sara["customer_id"], customer.as_str());
        assert_eq!(sara["contact_name"], "سارا محمدی");
        assert!(by("new.person@example.com")["lead_id"].is_string());
        let away = by("away@example.org")["id"].as_str().unwrap().to_string();
        let (_, away) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{away}/messages"),
            &admin,
            None,
        );
        let away = away["data"].as_array().unwrap();
        assert_eq!(
            away.len(),
            1,
            "an out-of-office note is never answered: {away:?}"
        );
        assert_eq!(away[0]["automatic"], true);
        let conversation = sara["id"].as_str().unwrap().to_string();
        let (_, messages) = send(
            &app,
            Method::GET,
            &format!("/api/v1/conversations/{conversation}/messages"),
            &admin,
            None,
        );
        let first = &messages["data"][0];
        assert_eq!(first["subject"], "سفارش ۱۲");
        assert_eq!(first["body"], "سفارش من کی می‌رسد");
        assert_eq!(first["provider_message_id"], "first-1@mail.example.ir");
        let (status, again) = send(
            &app,
            Method::POST,
            &format!("/api/v1/channel-accounts/{account}/fetch"),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        assert_eq!(again["stored"], 0, "{again}");

        // The answer is titled after the customer's mail and threaded to it.
        let reply = created(
            &app,
            &admin,
            &format!("/api/v1/conversations/{conversation}/messages"),
            json!({"body": "فردا می‌رسد."}),
        );
        assert_eq!(reply["subject"], "Re: سفارش ۱۲");
        let sent = settled_message(&app, &conversation, reply["id"].as_str().unwrap());
        assert_eq!(sent["status"], "sent", "{sent}");
        let raw = smtp
            .messages()
            .pop()
            .expect("the answer reached the server");
        assert_eq!(
            header(&raw, "In-Reply-To").as_deref(),
            Some("<first-1@mail.example.ir>")
        );
        assert_eq!(
            header(&raw, "X-Envelope-To").as_deref(),
            Some("sara@example.ir")
        );
    }
}

/// Waits until the SMTP server has accepted `count` messages.
fn accepted(smtp: &SmtpServer, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let messages = smtp.messages();
        if messages.len() >= count || Instant::now() > deadline {
            return messages;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_campaign_e_mail_carries_its_open_pixel_in_an_html_part() {
    for backend in backends() {
        let smtp = SmtpServer::start();
        let app = TestApp::spawn_with(backend, &["--public-url", "https://crm.example.ir/"]);
        let admin = app.admin_token();
        let account = created(
            &app,
            &admin,
            "/api/v1/channel-accounts",
            json!({"kind": "email", "name": "خبرنامه", "settings": {"email": mailbox_settings(smtp.port)},
                   "credentials": {"smtp_password": SMTP_PASSWORD}}),
        );
        let customer = id_of(&create_customer(
            &app,
            &admin,
            person("سارا", "محمدی", "09121234567", "sara@example.ir"),
        ));
        created(
            &app,
            &admin,
            &format!("/api/v1/customers/{customer}/consents"),
            json!({"channel": "email", "purpose": "marketing", "granted": true, "source": "web_form"}),
        );
        let segment = id_of(&created(
            &app,
            &admin,
            "/api/v1/segments",
            json!({"name": "خبرنامه", "kind": "static"}),
        ));
        send(
            &app,
            Method::POST,
            &format!("/api/v1/segments/{segment}/members"),
            &admin,
            Some(json!({"action": "add", "customer_ids": [customer]})),
        );
        let mut body = json!({
            "name": "خبرنامه آذر", "code": "news-azar", "channel": "email", "segment_id": segment,
            "message": {"channel_account_id": id_of(&account), "body": "تازه‌ها: https://shop.example.ir/new"}
        });
        // An e-mail without a subject cannot go out.
        let draft = created(&app, &admin, "/api/v1/campaigns", body.clone());
        let (status, problem) = send(
            &app,
            Method::POST,
            &format!("/api/v1/campaigns/{}/launch", id_of(&draft)),
            &admin,
            None,
        );
        assert_eq!(status, 422, "{problem}");
        assert_eq!(
            field_codes(&problem),
            vec![("message.subject".into(), "required".into())]
        );
        body["code"] = "news-azar-2".into();
        body["message"]["subject"] = "تازه‌های آذر".into();
        let campaign = id_of(&created(&app, &admin, "/api/v1/campaigns", body));
        let (status, _) = send(
            &app,
            Method::POST,
            &format!("/api/v1/campaigns/{campaign}/launch"),
            &admin,
            None,
        );
        assert_eq!(status, 200);
        let raw = accepted(&smtp, 1).pop().expect("the campaign e-mail");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        // Quoted-printable soft breaks undone, the pixel's address is in the HTML.
        let unfolded = raw.replace("=\r\n", "").replace("=3D", "=");
        let at = unfolded
            .find("https://crm.example.ir/api/v1/campaign-opens/")
            .unwrap_or_else(|| panic!("an open pixel in {raw}"));
        let token: String = unfolded[at..]
            .trim_start_matches("https://crm.example.ir/api/v1/campaign-opens/")
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            unfolded.contains("https://crm.example.ir/api/v1/campaign-links/"),
            "the link is tracked in {raw}"
        );
        assert!(!unfolded.contains("https://shop.example.ir/new"), "{raw}");

        let results = |app: &TestApp| {
            send(
                app,
                Method::GET,
                &format!("/api/v1/campaigns/{campaign}/results"),
                &admin,
                None,
            )
            .1
        };
        // Accepted by the mail server is as delivered as e-mail gets (once the job has
        // recorded it).
        let deadline = Instant::now() + Duration::from_secs(30);
        while results(&app)["delivered"] != 1 {
            assert!(Instant::now() < deadline, "{}", results(&app));
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(results(&app)["opened"], 0);
        let pixel = app
            .client()
            .get(app.url(&format!("/api/v1/campaign-opens/{token}")))
            .send()
            .unwrap();
        assert_eq!(pixel.status(), 200);
        assert_eq!(pixel.headers()["content-type"], "image/gif");
        assert_eq!(&pixel.bytes().unwrap()[..6], b"GIF89a");
        assert_eq!(results(&app)["opened"], 1);
        assert_eq!(results(&app)["open_rate"], 1.0);
    }
}
