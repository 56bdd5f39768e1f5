//! Sending e-mail over SMTP submission (RFC 6409): implicit TLS, STARTTLS or, for a
//! relay on the same host, a plain connection; AUTH with the mailbox's credentials.
//! A reply carries `In-Reply-To`/`References` so the customer's client threads it,
//! and, when the business gives one, a one-click unsubscribe link as RFC 8058 asks:
//! `List-Unsubscribe` with an HTTPS address and `List-Unsubscribe-Post:
//! List-Unsubscribe=One-Click`.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::outbound::SendError;

/// How the connection to a mail server (SMTP here, IMAP in [`crate::imap`]) is
/// protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (SMTP on 465, IMAP on 993).
    Tls,
    /// STARTTLS required before logging in (SMTP on 587, IMAP on 143).
    Starttls,
    /// No encryption: a server on the same host, or a test server.
    None,
}

/// An SMTP server and the mailbox's login there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub username: &'a str,
    pub password: &'a str,
}

/// One e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail<'a> {
    pub from_address: &'a str,
    pub from_name: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    /// The plain-text body.
    pub text: &'a str,
    /// The same body as HTML, sent beside the text as `multipart/alternative`.
    pub html: Option<&'a str>,
    /// The Message-ID (without angle brackets) of the message this answers.
    pub in_reply_to: Option<&'a str>,
    /// Where a click unsubscribes the recipient at once (an HTTPS URL).
    pub unsubscribe_url: Option<&'a str>,
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// A new Message-ID (without angle brackets) in the domain of the sending address, so
/// replies to it can be recognised as answers to this mailbox.
pub fn new_message_id(from_address: &str) -> String {
    let domain = from_address
        .rsplit_once('@')
        .map_or("localhost", |(_, domain)| domain);
    let mut random = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut random);
    format!("{}@{domain}", hex::encode(random))
}

/// The message as it goes on the wire, with `message_id` as its Message-ID.
pub fn build(email: &OutgoingEmail<'_>, message_id: &str) -> Result<Message, SendError> {
    let address = |text: &str, what: &str| {
        text.parse()
            .map_err(|err| SendError::Refused(format!("the {what} address {text:?}: {err}")))
    };
    let from = Mailbox::new(
        email.from_name.map(str::to_string),
        address(email.from_address, "sender")?,
    );
    let to = Mailbox::new(None, address(email.to, "recipient")?);
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject)
        .message_id(Some(format!("<{message_id}>")))
        .date_now();
    if let Some(parent) = email.in_reply_to {
        builder = builder
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    if let Some(url) = email.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, format!("<{url}>")))
            .raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".to_string(),
            ));
    }
    let built = match email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            email.text.to_string(),
            html.to_string(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.to_string()),
    };
    built.map_err(|err| SendError::Refused(format!("the message cannot be built: {err}")))
}

/// Sends `email` through `server`; answers its Message-ID (without angle brackets),
/// which is how the customer's answer will name it in `In-Reply-To`.
pub fn send(server: &SmtpServer<'_>, email: &OutgoingEmail<'_>) -> Result<String, SendError> {
    let message_id = new_message_id(email.from_address);
    let message = build(email, &message_id)?;
    let tls = |host: &str| {
        TlsParameters::new(host.to_string())
            .map_err(|err| SendError::Refused(format!("TLS for {host}: {err}")))
    };
    let tls = match server.security {
        Security::Tls => Tls::Wrapper(tls(server.host)?),
        Security::Starttls => Tls::Required(tls(server.host)?),
        Security::None => Tls::None,
    };
    let transport = SmtpTransport::builder_dangerous(server.host)
        .port(server.port)
        .tls(tls)
        .credentials(Credentials::new(
            server.username.to_string(),
            server.password.to_string(),
        ))
        .timeout(Some(Duration::from_secs(20)))
        .build();
    transport.send(&message).map_err(|err| {
        // A permanent (5xx) answer — a refused recipient, a failed login — will be the
        // same next time; anything else (no connection, 4xx) may pass later.
        if err.is_permanent() {
            SendError::Refused(format!("the SMTP server refused the message: {err}"))
        } else {
            SendError::Unavailable(format!("the SMTP server: {err}"))
        }
    })?;
    Ok(message_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email<'a>() -> OutgoingEmail<'a> {
        OutgoingEmail {
            from_address: "support@example.ir",
            from_name: Some("پشتیبانی نمونه"),
            to: "sara@example.com",
            subject: "Re: سفارش ۱۲",
            text: "سلام، سفارش شما ارسال شد.",
            html: None,
            in_reply_to: Some("abc@mail.example.com"),
            unsubscribe_url: Some("https://crm.example.ir/api/v1/unsubscribe/t0k3n"),
        }
    }

    #[test]
    fn a_reply_threads_and_offers_one_click_unsubscribe() {
        let raw = String::from_utf8(build(&email(), "m1@example.ir").unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <m1@example.ir>"), "{raw}");
        assert!(raw.contains("In-Reply-To: <abc@mail.example.com>"), "{raw}");
        assert!(raw.contains("References: <abc@mail.example.com>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe: <https://crm.example.ir/api/v1/unsubscribe/t0k3n>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        // Persian in headers is RFC 2047 encoded, never raw bytes.
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(headers.is_ascii(), "{headers}");
        assert!(headers.contains("Subject: Re: =?utf-8?"), "{headers}");
    }

    #[test]
    fn without_a_link_or_a_parent_the_headers_are_left_out() {
        let plain = OutgoingEmail {
            in_reply_to: None,
            unsubscribe_url: None,
            ..email()
        };
        let raw = String::from_utf8(build(&plain, "m2@example.ir").unwrap().formatted()).unwrap();
        assert!(!raw.contains("In-Reply-To"));
        assert!(!raw.contains("List-Unsubscribe"));
    }

    #[test]
    fn an_html_part_goes_beside_the_text() {
        let both = OutgoingEmail {
            html: Some("<p>سلام</p><img src=\"https://crm.example.ir/p\">"),
            ..email()
        };
        let raw = String::from_utf8(build(&both, "m4@example.ir").unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
    }

    #[test]
    fn a_bad_address_is_refused_for_good() {
        let bad = OutgoingEmail {
            to: "not an address",
            ..email()
        };
        assert!(matches!(
            build(&bad, "m3@example.ir"),
            Err(SendError::Refused(_))
        ));
    }

    #[test]
    fn message_ids_are_in_the_senders_domain() {
        let id = new_message_id("support@example.ir");
        assert!(id.ends_with("@example.ir"));
        assert_ne!(id, new_message_id("support@example.ir"));
    }
}
