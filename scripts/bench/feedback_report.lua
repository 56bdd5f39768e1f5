-- The NPS feedback report by month (the business calendar's default, Jalali) over
-- BENCH_FROM..BENCH_TO (local days), grouped by agent when BENCH_GROUP is set.
local from = os.getenv("BENCH_FROM")
local to = os.getenv("BENCH_TO")
local group = os.getenv("BENCH_GROUP")
local path = string.format("/api/v1/reports/feedback?metric=nps&from=%s&to=%s&bucket=month", from, to)
if group and group ~= "" then
  path = path .. "&group_by=" .. group
end
request = function()
  return wrk.format("GET", path)
end
