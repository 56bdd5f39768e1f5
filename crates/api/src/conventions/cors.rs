//! CORS from `ServerConfig::cors_origins` (`docs/security.md`): none configured means no CORS
//! headers at all (browsers then refuse cross-origin calls); `*` allows any origin but
//! without credentials, as the Fetch standard requires; otherwise only the listed
//! origins, with credentials. The headers clients need to read are exposed.
//!
//! The web chat widget's routes (`/api/v1/widget/`) are left out ([`OutsideWidget`]):
//! each site key allows its own account's origins, which `routes::widget` checks.

use std::rc::Rc;
use std::task::{Context, Poll};

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::Condition;
use actix_web::Error;
use futures_util::future::LocalBoxFuture;

use super::idempotency::IDEMPOTENCY_KEY_HEADER;
use super::rate_limit::{RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET};
use super::request_id::REQUEST_ID_HEADER;

/// How long browsers may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

/// The CORS middleware for the configured origins, switched off when there are none
/// (an empty `Cors` would reject every request that carries an `Origin`, same-origin
/// form posts included).
pub fn cors(origins: &[String]) -> OutsideWidget<Condition<Cors>> {
    OutsideWidget(configured(origins))
}

fn configured(origins: &[String]) -> Condition<Cors> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Condition::new(false, Cors::default());
    }
    let exposed = [
        header::ETAG,
        header::LOCATION,
        header::RETRY_AFTER,
        RATE_LIMIT_LIMIT,
        RATE_LIMIT_REMAINING,
        RATE_LIMIT_RESET,
        REQUEST_ID_HEADER,
        HeaderName::from_static("idempotent-replayed"),
    ];
    let base = Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            IDEMPOTENCY_KEY_HEADER,
            REQUEST_ID_HEADER,
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers(exposed)
        .max_age(PREFLIGHT_MAX_AGE_SECS);
    let cors = if origins.contains(&"*") {
        base.allow_any_origin()
    } else {
        origins
            .into_iter()
            .fold(base.supports_credentials(), |cors, origin| {
                cors.allowed_origin(origin)
            })
    };
    Condition::new(true, cors)
}

/// Where the web chat widget's routes begin.
pub const WIDGET_PREFIX: &str = "/api/v1/widget/";

/// A middleware that applies to every request but the widget's, which go straight to
/// the service inside.
pub struct OutsideWidget<T>(T);

impl<S, B, T, TB> Transform<S, ServiceRequest> for OutsideWidget<T>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    T: Transform<Rc<S>, ServiceRequest, Response = ServiceResponse<TB>, Error = Error>,
    T::Future: 'static,
    T::Transform: 'static,
    TB: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = OutsideWidgetService<S, T::Transform>;
    type InitError = T::InitError;
    type Future = LocalBoxFuture<'static, Result<Self::Transform, T::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let plain = Rc::new(service);
        let wrapped = self.0.new_transform(plain.clone());
        Box::pin(async move {
            Ok(OutsideWidgetService {
                plain,
                wrapped: wrapped.await?,
            })
        })
    }
}

pub struct OutsideWidgetService<S, W> {
    plain: Rc<S>,
    wrapped: W,
}

impl<S, B, W, WB> Service<ServiceRequest> for OutsideWidgetService<S, W>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
    W: Service<ServiceRequest, Response = ServiceResponse<WB>, Error = Error>,
    W::Future: 'static,
    WB: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.wrapped.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if req.path().starts_with(WIDGET_PREFIX) {
            let response = self.plain.call(req);
            Box::pin(async move { Ok(response.await?.map_into_boxed_body()) })
        } else {
            let response = self.wrapped.call(req);
            Box::pin(async move { Ok(response.await?.map_into_boxed_body()) })
        }
    }
}
