-- The service KPI report over a quarter (BENCH_FROM .. BENCH_TO) by Jalali month.
local path = string.format("/api/v1/reports/service?from=%s&to=%s&bucket=month&calendar=jalali",
  os.getenv("BENCH_FROM"), os.getenv("BENCH_TO"))
request = function()
  return wrk.format("GET", path)
end
