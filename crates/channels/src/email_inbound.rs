//! E-mail customers sent to a business mailbox, as the raw RFC 5322 bytes an IMAP
//! server hands out, reduced to an [`InboundMessage`] plus what threading and
//! auto-reply decisions need. MIME structure, transfer encodings, RFC 2047 words and
//! legacy charsets (windows-1256 is still common in Iranian mail) are `mail-parser`'s
//! job; this module only chooses what the CRM keeps.

use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::inbound::{InboundMessage, PayloadError, Sender};

const PROVIDER: &str = "e-mail";

/// One e-mail as the CRM reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// Sender (`Sender::Email` with the From address), display name, text without the
    /// quoted earlier message, Message-ID and Date.
    pub message: InboundMessage,
    pub subject: Option<String>,
    /// The Message-IDs (without angle brackets) of `In-Reply-To`: the message this one
    /// answers, normally one.
    pub in_reply_to: Vec<String>,
    /// The Message-IDs of `References`, oldest first: the whole thread, for when the
    /// message answered is not one the CRM knows.
    pub references: Vec<String>,
    /// Written by a machine (an out-of-office reply, a bounce, a mailing list): it must
    /// never be answered automatically, or two responders answer each other for ever
    /// (RFC 3834).
    pub automatic: bool,
}

/// Reads one raw message. `fallback_time` stands in for a missing or unreadable Date
/// (the time the mailbox received it is the best guess a caller has).
///
/// Fails only when the bytes are not a message or name no sender address: such mail
/// cannot be tied to anyone.
pub fn parse(raw: &[u8], fallback_time: DateTime<Utc>) -> Result<InboundEmail, PayloadError> {
    let parsed = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| PayloadError::new(PROVIDER, "not an RFC 5322 message"))?;
    let from = parsed
        .from()
        .and_then(|from| from.first())
        .ok_or_else(|| PayloadError::new(PROVIDER, "no From address"))?;
    let address = from
        .address
        .as_deref()
        .map(str::trim)
        .filter(|address| address.contains('@'))
        .ok_or_else(|| PayloadError::new(PROVIDER, "the From header names no address"))?;
    let sender_name = from
        .name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty() && *name != address)
        .map(str::to_string);
    let provider_message_id = parsed
        .message_id()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map_or_else(|| raw_digest(raw), str::to_string);
    let sent_at = parsed
        .date()
        .filter(|date| date.is_valid())
        .and_then(|date| DateTime::from_timestamp(date.to_timestamp(), 0))
        .unwrap_or(fallback_time);
    let text = match parsed.body_text(0) {
        Some(body) if !body.trim().is_empty() => without_quoted_reply(&body),
        _ if parsed.attachment_count() > 0 => "[attachment]".to_string(),
        _ => "[message]".to_string(),
    };
    let automatic = is_automatic(&parsed, address);
    Ok(InboundEmail {
        message: InboundMessage {
            provider_message_id,
            sender: Sender::Email(address.to_string()),
            sender_name,
            text,
            sent_at,
            shared_phone: None,
        },
        subject: parsed
            .subject()
            .map(str::trim)
            .filter(|subject| !subject.is_empty())
            .map(str::to_string),
        in_reply_to: message_ids(parsed.in_reply_to()),
        references: message_ids(parsed.references()),
        automatic,
    })
}

/// A stand-in Message-ID for mail without one: the same bytes fetched again give the
/// same id, so a replay is still recognised.
fn raw_digest(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect()
}

/// The marks RFC 3834 and common practice give machine-written mail: `Auto-Submitted`
/// other than `no`, `Precedence: bulk|junk|list`, the `X-Autoreply`/`X-Autorespond`
/// headers of some responders, mailing-list headers, the empty return path and report
/// type of delivery notifications, and the mailer daemon as sender.
fn is_automatic(message: &mail_parser::Message<'_>, from_address: &str) -> bool {
    let raw = |name: &'static str| message.header_raw(name).map(|value| value.trim());
    let auto_submitted = raw("Auto-Submitted").is_some_and(|value| {
        let keyword = value.split(';').next().unwrap_or_default().trim();
        !keyword.eq_ignore_ascii_case("no")
    });
    let precedence = raw("Precedence").is_some_and(|value| {
        ["bulk", "junk", "list"]
            .iter()
            .any(|kind| value.eq_ignore_ascii_case(kind))
    });
    let responder = raw("X-Autoreply").is_some() || raw("X-Autorespond").is_some();
    let list = raw("List-Id").is_some() || raw("List-Unsubscribe").is_some();
    let bounce = raw("Return-Path") == Some("<>")
        || message.is_content_type("multipart", "report")
        || from_address
            .split('@')
            .next()
            .is_some_and(|local| local.eq_ignore_ascii_case("mailer-daemon"));
    auto_submitted || precedence || responder || list || bounce
}

/// The text with the earlier message it quotes cut off, but only when that is clearly
/// marked: an attribution line ("On … wrote:", or Gmail's Persian "در تاریخ … نوشت:",
/// possibly wrapped onto a second line) followed by nothing but `>` lines to the end.
/// Anything else (answers between quoted lines, unmarked quotes, a message that is
/// only a quote) is kept whole: losing what a customer wrote is worse than keeping a
/// quote.
fn without_quoted_reply(body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let lines: Vec<&str> = body.lines().collect();
    let blank = |line: &str| visible(line).is_empty();
    let quoted = |line: &str| visible(line).starts_with('>');
    // The first line of the quoted block that runs to the end, blank lines included.
    let mut quote_start = None;
    for (index, line) in lines.iter().enumerate().rev() {
        if quoted(line) {
            quote_start = Some(index);
        } else if !blank(line) {
            break;
        }
    }
    let whole = || body.trim().to_string();
    let Some(quote_start) = quote_start else {
        return whole();
    };
    let mut before = (0..quote_start).rev().filter(|&index| !blank(lines[index]));
    let Some(last) = before.next() else {
        return whole();
    };
    let attribution_start = if is_attribution(lines[last]) {
        last
    } else {
        match before.next() {
            Some(first) if is_attribution(&format!("{} {}", lines[first], lines[last])) => first,
            _ => return whole(),
        }
    };
    let kept = lines[..attribution_start].join("\n");
    if kept.trim().is_empty() {
        whole()
    } else {
        kept.trim().to_string()
    }
}

fn is_attribution(line: &str) -> bool {
    let line = visible(line);
    line.chars().count() <= 300
        && ((line.starts_with("On ") && line.ends_with("wrote:"))
            || (line.starts_with("در تاریخ") && line.ends_with("نوشت:")))
}

/// A line without surrounding white space and the bidirectional controls Persian
/// clients wrap lines in (Gmail writes its Persian attribution inside U+202B … U+202C).
fn visible(line: &str) -> &str {
    line.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fallback() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-20T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn read(raw: &[u8]) -> InboundEmail {
        parse(raw, fallback()).unwrap()
    }

    #[test]
    fn a_persian_gmail_reply_is_read_without_its_quote() {
        let email = read(include_bytes!("../tests/fixtures/gmail_persian_reply.eml"));
        let message = &email.message;
        assert_eq!(message.sender, Sender::Email("ali.rezaei@gmail.com".into()));
        assert_eq!(message.sender_name.as_deref(), Some("علی رضایی"));
        assert_eq!(
            message.provider_message_id,
            "CAJx9Lq2vR=Ymb8fQpW@mail.gmail.com"
        );
        assert_eq!(message.sent_at.to_rfc3339(), "2024-05-14T10:12:30+00:00");
        assert_eq!(
            message.text,
            "سلام،\nسفارش ۱۲۳۴ هنوز نرسیده است. لطفاً پیگیری کنید.\n\nبا تشکر\nعلی رضایی"
        );
        assert_eq!(email.subject.as_deref(), Some("Re: پیگیری سفارش ۱۲۳۴"));
        assert_eq!(email.in_reply_to, ["8f9e0d@peyvand.example"]);
        assert_eq!(
            email.references,
            ["1a2b3c@peyvand.example", "8f9e0d@peyvand.example"]
        );
        assert!(!email.automatic);
    }

    #[test]
    fn windows_1256_and_quoted_printable_are_decoded_and_a_missing_id_and_date_stood_in_for() {
        let raw = include_bytes!("../tests/fixtures/outlook_windows1256.eml");
        let email = read(raw);
        let message = &email.message;
        // Windows-1256 has no Persian yeh: its Arabic one comes through as written.
        assert_eq!(message.sender_name.as_deref(), Some("مريم احمدي"));
        assert_eq!(
            message.sender,
            Sender::Email("Maryam.Ahmadi@Example.IR".into())
        );
        assert_eq!(email.subject.as_deref(), Some("درخواست فاکتور"));
        assert_eq!(
            message.text,
            "با سلام\nفاکتور خريد ماه گذشته را لطفاً دوباره بفرستيد.\nمريم احمدي"
        );
        assert_eq!(message.sent_at, fallback());
        assert!(message.provider_message_id.starts_with("sha256:"));
        assert_eq!(
            message.provider_message_id,
            read(raw).message.provider_message_id
        );
        assert!(email.in_reply_to.is_empty() && email.references.is_empty());
    }

    #[test]
    fn html_only_mail_is_rendered_as_text() {
        let email = read(include_bytes!("../tests/fixtures/html_only.eml"));
        let text = &email.message.text;
        assert!(!text.contains('<') && !text.contains("color"), "{text:?}");
        assert!(text.contains("Hello,"), "{text:?}");
        assert!(
            text.contains("I'd like a quote for 20 licences & support."),
            "{text:?}"
        );
        assert!(text.contains("Sara"), "{text:?}");
        assert_eq!(
            email.message.provider_message_id,
            "20240515090000.4321@shop.example"
        );
        assert_eq!(email.message.sender_name.as_deref(), Some("Sara Karimi"));
    }

    #[test]
    fn an_out_of_office_reply_is_automatic_and_its_wrapped_attribution_cut() {
        let email = read(include_bytes!("../tests/fixtures/out_of_office.eml"));
        assert!(email.automatic);
        assert_eq!(
            email.message.text,
            "I am out of the office until Monday and will reply then."
        );
        assert_eq!(email.in_reply_to, ["ticket-4411@peyvand.example"]);
        assert_eq!(
            email.message.sent_at.to_rfc3339(),
            "2024-05-16T06:30:00+00:00"
        );
    }

    fn simple(headers: &str, body: &str) -> String {
        format!(
            "From: Customer <c@example.com>\r\nTo: s@peyvand.example\r\nSubject: Hi\r\n\
             Message-ID: <m1@example.com>\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        )
    }

    #[test]
    fn machine_written_mail_is_recognised() {
        for headers in [
            "Auto-Submitted: auto-generated\r\n",
            "Auto-Submitted: auto-replied; owner-email=\"x@example.com\"\r\n",
            "Precedence: bulk\r\n",
            "Precedence: Junk\r\n",
            "Precedence: list\r\n",
            "X-Autoreply: yes\r\n",
            "X-Autorespond: on vacation\r\n",
            "List-Id: Customers <customers.lists.example.com>\r\n",
            "Return-Path: <>\r\n",
        ] {
            let email = read(simple(headers, "Away.\r\n").as_bytes());
            assert!(email.automatic, "{headers}");
        }
        let bounce = "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n\
                      Content-Type: text/plain\r\n\r\nDelivery failed.\r\n";
        assert!(read(bounce.as_bytes()).automatic);
        for headers in ["", "Auto-Submitted: no\r\n", "Precedence: first-class\r\n"] {
            let email = read(simple(headers, "A question.\r\n").as_bytes());
            assert!(!email.automatic, "{headers}");
        }
    }

    #[test]
    fn only_a_clearly_marked_trailing_quote_is_cut() {
        let cut = |body: &str| read(simple("", body).as_bytes()).message.text;
        // Answers between quoted lines are kept whole.
        let inline =
            "On Mon, 1 Jan 2024, Support wrote:\r\n> Which colour?\r\nBlue.\r\n> Size?\r\nM.\r\n";
        assert_eq!(cut(inline), inline.replace("\r\n", "\n").trim());
        // A quote without an attribution is kept.
        let unmarked = "Yes, please.\r\n\r\n> Shall we send it?\r\n";
        assert_eq!(cut(unmarked), "Yes, please.\n\n> Shall we send it?");
        // A message that is only the quote keeps it rather than becoming empty.
        let only = "On Mon, 1 Jan 2024, Support wrote:\r\n> Hello\r\n";
        assert_eq!(cut(only), "On Mon, 1 Jan 2024, Support wrote:\n> Hello");
        // Quoted-printable with soft line breaks is joined before the quote is found.
        let qp = "Content-Transfer-Encoding: quoted-printable\r\n";
        let body = "Thanks, it arrived =E2=9C=93\r\n\r\nOn Tue, 2 Jan 2024 at 10:00, Support <s@=\r\npeyvand.example> wrote:\r\n> Shipped.\r\n";
        assert_eq!(
            read(simple(qp, body).as_bytes()).message.text,
            "Thanks, it arrived ✓"
        );
    }

    #[test]
    fn mail_without_a_usable_sender_or_text() {
        let no_from = "To: s@peyvand.example\r\nSubject: x\r\n\r\nHello\r\n";
        assert!(parse(no_from.as_bytes(), fallback()).is_err());
        let no_address = "From: Someone\r\nSubject: x\r\n\r\nHello\r\n";
        assert!(parse(no_address.as_bytes(), fallback()).is_err());
        let attachment_only = "From: c@example.com\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
            Content-Type: application/pdf; name=invoice.pdf\r\n\
            Content-Disposition: attachment; filename=invoice.pdf\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        let email = read(attachment_only.as_bytes());
        assert_eq!(email.message.text, "[attachment]");
        assert_eq!(email.message.sender_name, None);
        assert_eq!(email.subject, None);
    }
}
