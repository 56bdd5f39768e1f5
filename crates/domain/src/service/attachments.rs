//! Ticket attachments (V-1): which files a ticket may carry.
//!
//! A file is taken only when its declared content type is on the allow-list and its
//! first bytes agree with that type: a program renamed `invoice.pdf` and sent as
//! `application/pdf` is refused, because an agent opening it trusts the name. The
//! signatures are the published magic numbers of each format; a format without one
//! (plain text, CSV) must instead be UTF-8 text without NUL bytes and carry no known
//! signature. Office documents are ZIP archives: a `.docx` must hold a `word/` entry and
//! a `.xlsx` an `xl/` entry, which is how Office itself tells them apart.

use crate::validation::FieldViolation;

/// Files a ticket may hold; beyond this the conversation is the wrong place for them.
pub const MAX_PER_TICKET: i64 = 50;

/// Default largest attachment, in bytes (10 MiB); the server configuration may change it.
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;

pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The content types an attachment may have.
pub const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
    DOCX,
    XLSX,
    "application/zip",
];

const ZIP: &[u8] = b"PK\x03\x04";

/// Signatures of formats that are never allowed, so that text holding one is refused
/// too: executables and scripts are what a disguised file usually is.
const FOREIGN: &[&[u8]] = &[
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xce\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"\x00asm",
];

/// The content type the first bytes show, among the allowed binary formats.
fn sniffed(bytes: &[u8]) -> Option<&'static str> {
    let starts = |signature: &[u8]| bytes.starts_with(signature);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(ZIP) || starts(b"PK\x05\x06") {
        Some("application/zip")
    } else {
        None
    }
}

fn contains(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|window| window == needle)
}

/// The declared content type as stored: its essence, lower-cased.
pub fn normalized(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks an upload of `bytes` declared as `content_type` (already [`normalized`]);
/// the violation names `file` and the rule broken: `empty`, `type_not_allowed` or
/// `type_mismatch`.
pub fn check(content_type: &str, bytes: &[u8]) -> Result<(), FieldViolation> {
    if bytes.is_empty() {
        return Err(FieldViolation::new("file", "empty", "the file is empty"));
    }
    if !ALLOWED.contains(&content_type) {
        let given = if content_type.is_empty() {
            "a file without a content type"
        } else {
            content_type
        };
        return Err(FieldViolation::new(
            "file",
            "type_not_allowed",
            format!(
                "a ticket takes images (PNG, JPEG, GIF, WebP), PDF, plain text, CSV, \
                 Word and Excel documents and ZIP archives, not {given}"
            ),
        ));
    }
    let agrees = match content_type {
        "text/plain" | "text/csv" => {
            sniffed(bytes).is_none()
                && !FOREIGN.iter().any(|signature| bytes.starts_with(signature))
                && !bytes.contains(&0)
                && std::str::from_utf8(bytes).is_ok()
        }
        DOCX => bytes.starts_with(ZIP) && contains(bytes, b"word/"),
        XLSX => bytes.starts_with(ZIP) && contains(bytes, b"xl/"),
        declared => sniffed(bytes) == Some(declared),
    };
    if agrees {
        Ok(())
    } else {
        Err(FieldViolation::new(
            "file",
            "type_mismatch",
            format!("the file's content is not {content_type}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(content_type: &str, bytes: &[u8]) -> Option<String> {
        check(content_type, bytes)
            .err()
            .map(|violation| violation.code)
    }

    #[test]
    fn allowed_files_whose_bytes_agree_are_taken() {
        assert_eq!(rule("image/png", b"\x89PNG\r\n\x1a\n...."), None);
        assert_eq!(rule("image/jpeg", b"\xff\xd8\xff\xe0..."), None);
        assert_eq!(rule("image/gif", b"GIF89a..."), None);
        assert_eq!(rule("image/webp", b"RIFF\x10\x00\x00\x00WEBPVP8 "), None);
        assert_eq!(rule("application/pdf", b"%PDF-1.7\n"), None);
        assert_eq!(rule("text/plain", "سلام دنیا\n".as_bytes()), None);
        assert_eq!(rule("text/csv", b"name,phone\n"), None);
        assert_eq!(rule("application/zip", b"PK\x03\x04...."), None);
        assert_eq!(rule(DOCX, b"PK\x03\x04..word/document.xml"), None);
        assert_eq!(rule(XLSX, b"PK\x03\x04..xl/workbook.xml"), None);
    }

    #[test]
    fn disguised_empty_and_foreign_files_are_refused() {
        let elf = b"\x7fELF\x02\x01\x01\x00";
        assert_eq!(
            rule("application/pdf", elf).as_deref(),
            Some("type_mismatch")
        );
        assert_eq!(rule("text/plain", elf).as_deref(), Some("type_mismatch"));
        assert_eq!(
            rule("text/plain", b"MZ\x90\x00").as_deref(),
            Some("type_mismatch")
        );
        assert_eq!(
            rule("text/plain", b"%PDF-1.4").as_deref(),
            Some("type_mismatch")
        );
        assert_eq!(
            rule("image/png", b"\xff\xd8\xff").as_deref(),
            Some("type_mismatch")
        );
        assert_eq!(
            rule(DOCX, b"PK\x03\x04..xl/").as_deref(),
            Some("type_mismatch")
        );
        assert_eq!(
            rule("application/x-msdownload", b"MZ").as_deref(),
            Some("type_not_allowed")
        );
        assert_eq!(rule("application/pdf", b"").as_deref(), Some("empty"));
        assert_eq!(rule("", b"%PDF-1.4").as_deref(), Some("type_not_allowed"));
    }

    #[test]
    fn declared_types_are_compared_by_their_essence() {
        assert_eq!(normalized("Text/Plain; charset=UTF-8"), "text/plain");
    }
}
