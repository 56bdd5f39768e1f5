//! Baseline for the HTTP benchmark in `docs/benchmarks.md`: a bare actix handler that
//! runs the same single-row query as `GET /api/v1/users/{id}` through the same pool,
//! with no authentication, audit, rate limiting, conventions or metrics. The ratio of
//! the full endpoint's throughput to this one shows what those cost.
//!
//! `cargo run --release -p api --example bare_user_lookup -- DATABASE_URL 127.0.0.1:8091`

use actix_web::{get, web, App, HttpResponse, HttpServer};
use persistence::db::{build_pool, DbPool, PoolConfig};

#[get("/users/{id}")]
async fn user(pool: web::Data<DbPool>, id: web::Path<uuid::Uuid>) -> HttpResponse {
    let id = id.into_inner();
    let pool = pool.get_ref().clone();
    let found = web::block(move || {
        let mut conn = pool.get().map_err(|err| err.to_string())?;
        persistence::users::find(&mut conn, id).map_err(|err| err.to_string())
    })
    .await;
    match found {
        Ok(Ok(row)) => HttpResponse::Ok().json(serde_json::json!({
            "id": row.id.0,
            "email": row.email,
            "display_name": row.display_name,
            "role": row.role,
            "visibility": row.visibility,
            "team_id": row.team_id.map(|id| id.0),
            "locale": row.locale,
            "is_active": row.is_active,
            "last_login_at": row.last_login_at.map(|at| at.0),
            "created_at": row.created_at.0,
            "updated_at": row.updated_at.0,
        })),
        _ => HttpResponse::NotFound().finish(),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(bind)) = (args.next(), args.next()) else {
        eprintln!("usage: bare_user_lookup DATABASE_URL BIND_ADDRESS");
        std::process::exit(2);
    };
    let pool = build_pool(&PoolConfig::new(url)).map_err(std::io::Error::other)?;
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(pool.clone()))
                .service(user)
        })
        .bind(bind)?
        .run()
        .await
    })
}
