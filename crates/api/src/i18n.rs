//! The request's language (L-5): picked from `Accept-Language` (Persian when it prefers
//! `fa`, English otherwise) and kept in a task-local for the duration of the request, so
//! errors raised anywhere in a handler speak it. The texts themselves live in
//! `application::i18n`.

use actix_web::http::header::{HeaderMap, ACCEPT_LANGUAGE};
pub use application::i18n::{field_message, job_error_message, title, Lang};

tokio::task_local! {
    static REQUEST_LANG: Lang;
}

/// The language the request's `Accept-Language` prefers.
pub fn from_headers(headers: &HeaderMap) -> Lang {
    headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or(Lang::En)
}

/// The language of the request being served (English outside a request).
pub fn current() -> Lang {
    REQUEST_LANG.try_with(|lang| *lang).unwrap_or(Lang::En)
}

/// Runs `future` with `lang` as the request language.
pub async fn scope<F: std::future::Future>(lang: Lang, future: F) -> F::Output {
    REQUEST_LANG.scope(lang, future).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn reads_the_accept_language_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers), Lang::En);
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("fa-IR,en;q=0.8"));
        assert_eq!(from_headers(&headers), Lang::Fa);
    }
}
