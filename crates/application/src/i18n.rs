//! Texts in the caller's language (Persian or English): problem titles, job failure
//! messages and field rule messages, by stable code. Which language a caller gets is
//! decided by the API (`Accept-Language`) and kept in the acting context.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Fa,
}

impl Lang {
    /// Picks the highest-weighted supported language from an `Accept-Language` value
    /// (English when none is supported).
    pub fn from_accept_language(value: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "fa" || tag.starts_with("fa-") {
                Some(Lang::Fa)
            } else if tag == "en" || tag.starts_with("en-") || tag == "*" {
                Some(Lang::En)
            } else {
                None
            };
            if let Some(lang) = lang {
                if best.is_none_or(|(w, _)| weight > w) {
                    best = Some((weight, lang));
                }
            }
        }
        best.map(|(_, lang)| lang).unwrap_or(Lang::En)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fa => "fa",
        }
    }
}

/// Title of a problem code in the request language.
pub fn title(code: &str, lang: Lang) -> &'static str {
    let (en, fa) = match code {
        "validation_failed" => ("Validation failed", "اعتبارسنجی ناموفق بود"),
        "malformed_request" => ("Malformed request", "درخواست نامعتبر است"),
        "unauthenticated" => ("Authentication required", "احراز هویت لازم است"),
        "invalid_credentials" => ("Invalid credentials", "نام کاربری یا گذرواژه نادرست است"),
        "invalid_token" => ("Invalid token", "توکن نامعتبر است"),
        "invalid_signature" => ("Invalid signature", "امضای درخواست نامعتبر است"),
        "forbidden" => ("Forbidden", "دسترسی مجاز نیست"),
        "not_found" => ("Not found", "یافت نشد"),
        "method_not_allowed" => ("Method not allowed", "این روش مجاز نیست"),
        "conflict" => ("Conflict", "تعارض با داده‌های موجود"),
        "gone" => ("Gone", "دیگر در دسترس نیست"),
        "likely_duplicate" => ("Likely duplicate", "احتمالاً تکراری است"),
        "precondition_failed" => ("Precondition failed", "پیش‌شرط برقرار نیست"),
        "concurrent_update" => ("Concurrent update", "تغییر همزمان"),
        "precondition_required" => ("Precondition required", "پیش‌شرط لازم است"),
        "idempotency_key_reused" => (
            "Idempotency key reused",
            "کلید یکتایی با بدنهٔ دیگری استفاده شده است",
        ),
        "idempotency_in_progress" => (
            "Request in progress",
            "درخواست قبلی با همین کلید هنوز در حال انجام است",
        ),
        "payload_too_large" => ("Payload too large", "حجم درخواست بیش از حد مجاز است"),
        "uri_too_long" => ("URI too long", "نشانی درخواست بیش از حد طولانی است"),
        "headers_too_large" => (
            "Request headers too large",
            "سرآیندهای درخواست بیش از حد بزرگ است",
        ),
        "unsupported_media_type" => ("Unsupported media type", "نوع محتوا پشتیبانی نمی‌شود"),
        "not_acceptable" => ("Not acceptable", "قالب پاسخ درخواستی پشتیبانی نمی‌شود"),
        "rate_limited" => ("Too many requests", "تعداد درخواست‌ها بیش از حد مجاز است"),
        "too_many_login_attempts" => (
            "Too many failed logins",
            "تلاش‌های ناموفق ورود بیش از حد مجاز است",
        ),
        "service_unavailable" => ("Service unavailable", "سرویس در دسترس نیست"),
        _ => ("Internal server error", "خطای داخلی سرور"),
    };
    match lang {
        Lang::En => en,
        Lang::Fa => fa,
    }
}

/// What a job failure code means, in `lang`. Codes a job shares with problem responses
/// (`conflict`, `not_found`, ...) fall back to the problem title.
pub fn job_error_message(code: &str, lang: Lang) -> &'static str {
    let (en, fa) = match code {
        "storage_error" => (
            "The database failed while the job ran; the details are in the server log",
            "هنگام اجرای کار، پایگاه داده با خطا روبه‌رو شد؛ جزئیات در گزارش کارگزار ثبت شده است",
        ),
        "concurrent_update" => (
            "Another change to the same records got in the way",
            "تغییر دیگری روی همین رکوردها مانع شد",
        ),
        "internal_error" => (
            "The job failed inside the server; the details are in the server log",
            "کار در کارگزار با خطا متوقف شد؛ جزئیات در گزارش کارگزار ثبت شده است",
        ),
        "validation_failed" => (
            "Some values break the rules; see detail",
            "برخی مقادیر با قواعد سازگار نیستند؛ جزئیات را ببینید",
        ),
        "unreadable_file" => (
            "The file could not be read; see detail",
            "پرونده خوانده نشد؛ جزئیات را ببینید",
        ),
        "file_missing" => (
            "The file the job needs is gone",
            "پرونده‌ای که کار به آن نیاز دارد دیگر وجود ندارد",
        ),
        "file_format_error" => (
            "The file could not be written in this format; see detail",
            "پرونده در این قالب نوشته نشد؛ جزئیات را ببینید",
        ),
        "worker_lost" => (
            "The worker running the job stopped responding",
            "پردازشگری که کار را اجرا می‌کرد پاسخ نداد",
        ),
        other => return title(other, lang),
    };
    match lang {
        Lang::En => en,
        Lang::Fa => fa,
    }
}

/// Message for a field rule code in the request language; `fallback` (English, from the
/// validator) is used for rules without a catalogue entry.
pub fn field_message(code: &str, fallback: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return fallback.to_string();
    }
    let fa = match code {
        "required" => "این فیلد الزامی است",
        "invalid_type" => "نوع مقدار نادرست است",
        "invalid_format" | "invalid_value" => "مقدار نامعتبر است",
        "invalid_email" => "نشانی ایمیل نامعتبر است",
        "too_short" => "مقدار کوتاه‌تر از حد مجاز است",
        "too_long" => "مقدار طولانی‌تر از حد مجاز است",
        "out_of_range" => "مقدار خارج از محدوده است",
        "unknown_field" => "این فیلد شناخته‌شده نیست",
        "not_allowed" => "تغییر این فیلد مجاز نیست",
        "operator_not_allowed" => "این عملگر برای این فیلد مجاز نیست",
        "too_deep" => "عمق فیلتر بیش از حد مجاز است",
        "too_many_conditions" => "تعداد شرط‌ها بیش از حد مجاز است",
        "invalid_cursor" => "نشانگر صفحه نامعتبر است",
        "duplicate" => "این مقدار قبلاً ثبت شده است",
        "kind_mismatch" => "نوع این مشتری با نوع مشتری باقی‌مانده یکی نیست",
        "not_choosable" => "این فیلد را نمی‌توان از مشتری دیگری برداشت؛ فهرست‌ها ترکیب می‌شوند",
        "not_involved" => "این مشتری در این ادغام نیست",
        "is_winner" => "مشتری باقی‌مانده را نمی‌توان در خودش ادغام کرد",
        "nul_character" => "نویسهٔ NUL (U+0000) مجاز نیست",
        "control_character" => "نویسه‌های کنترلی مجاز نیستند",
        "line_break" => "مقدار باید یک‌خطی باشد، بدون شکست خط",
        "bidi_control" => {
            "نویسه‌های کنترل جهت متن (U+202A تا U+202E و U+2066 تا U+2069) مجاز نیستند"
        }
        "invalid_date" => "تاریخ نامعتبر است (مانند ۱۴۰۳/۰۱/۱۵ یا 2024-04-03)",
        "in_future" => "تاریخ نباید در آینده باشد",
        "invalid_number" => "عدد نامعتبر است",
        "too_precise" => "رقم‌های اعشار بیش از واحد پول است",
        "mismatch" => "جمع اعلام‌شده با جمع محاسبه‌شده یکی نیست",
        "exceeds_line_amount" => "تخفیف نباید از مبلغ سطر بیشتر باشد",
        "not_found" => "پیدا نشد",
        "already_exists" => "این مقدار قبلاً ثبت شده است",
        "duplicate_in_file" => "این مقدار در ردیف دیگری از همین فایل تکرار شده است",
        "ambiguous_match" => "بیش از یک مشتری با این مقدار پیدا شد",
        "erased" => "اطلاعات شخصی این مشتری پاک شده است",
        "merged" => "این مشتری در مشتری دیگری ادغام شده است",
        "inconsistent_order" => "با ردیف‌های دیگر همین سفارش یکی نیست",
        "currency_mismatch" => "واحد پول کالا با واحد پول سفارش یکی نیست",
        "unknown_currency" => "کد واحد پول در ISO 4217 نیست",
        "inactive" => "این کالا دیگر فروخته نمی‌شود",
        "invalid_transition" => "این تغییر وضعیت مجاز نیست",
        "needs_lines_layout" => "این ستون فقط در خروجی سطر به سطر (layout: lines) هست",
        "unknown_variable" => "این متغیر شناخته‌شده نیست (مانند {{customer.name}})",
        "invalid_template" => {
            "آکولادها متغیری را در بر نمی‌گیرند؛ متغیر را مانند {{customer.name}} بنویسید"
        }
        _ => return fallback.to_string(),
    };
    fa.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_preferred_supported_language() {
        assert_eq!(Lang::from_accept_language("fa"), Lang::Fa);
        assert_eq!(Lang::from_accept_language("fa-IR,en;q=0.8"), Lang::Fa);
        assert_eq!(Lang::from_accept_language("en;q=0.9, fa;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("de, fa;q=0.3"), Lang::Fa);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
    }

    #[test]
    fn commerce_and_import_rules_speak_persian() {
        for code in [
            "too_precise",
            "inconsistent_order",
            "mismatch",
            "invalid_date",
        ] {
            let message = field_message(code, "english", Lang::Fa);
            assert_ne!(message, "english", "{code}");
            assert_eq!(field_message(code, "english", Lang::En), "english");
        }
    }

    #[test]
    fn the_language_is_stored_by_its_tag() {
        assert_eq!(serde_json::to_value(Lang::Fa).unwrap(), "fa");
        assert_eq!(
            serde_json::from_value::<Lang>("en".into()).unwrap(),
            Lang::En
        );
    }
}
