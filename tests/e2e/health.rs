use e2e::support::for_each_backend;

#[test]
fn liveness_and_readiness() {
    for_each_backend(|app| {
        let health = app.client().get(app.url("/api/v1/health")).send().unwrap();
        assert_eq!(health.status(), 200);
        let ready: serde_json::Value = app
            .client()
            .get(app.url("/api/v1/ready"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(ready["status"], "ok");
        assert_eq!(ready["migrations"], "up_to_date");
        assert_eq!(
            ready["database"],
            if app.backend == e2e::support::Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
    });
}
