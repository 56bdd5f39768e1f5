-- Reports over three years: sales by Jalali month, alternately grouped by product and
-- by province, and the KPI summary. BENCH_FROM and BENCH_TO are the range's days.
local from = os.getenv("BENCH_FROM")
local to = os.getenv("BENCH_TO")
local paths = {
  "/api/v1/reports/sales?from=%s&to=%s&bucket=month&calendar=jalali",
  "/api/v1/reports/sales?from=%s&to=%s&bucket=month&calendar=jalali&group_by=product",
  "/api/v1/reports/sales?from=%s&to=%s&bucket=month&calendar=jalali&group_by=province",
  "/api/v1/reports/kpis?from=%s&to=%s&bucket=month&calendar=jalali",
}
local which = tonumber(os.getenv("BENCH_REPORT") or "1")
request = function()
  return wrk.format("GET", string.format(paths[which], from, to))
end
