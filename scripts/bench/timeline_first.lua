-- The first page (50 entries) of one customer's timeline (BENCH_CUSTOMER).
wrk.path = "/api/v1/customers/" .. os.getenv("BENCH_CUSTOMER") .. "/timeline"
