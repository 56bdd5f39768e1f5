-- GET /pipelines/{id}/board of the default pipeline: each open stage's count and sums
-- of its open deals per currency and the first page of its deals.
local path = "/api/v1/pipelines/" .. (os.getenv("BENCH_PIPELINE") or "0193e0a0-0000-7000-8000-000000000001") .. "/board"
request = function()
  return wrk.format("GET", path)
end
