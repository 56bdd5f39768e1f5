-- A filtered lead search: one status, one province and created within the last N days
-- (a relative date), newest first, 50 per page.
local provinces = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/provinces.txt") do provinces[#provinces + 1] = line end
local statuses = {"new", "contacted", "qualified", "disqualified"}
local days = {30, 90, 180, 365}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"filter":{"and":[{"field":"status","op":"eq","value":"%s"},{"field":"province","op":"eq","value":"%s"},{"field":"created_at","op":"gte","value":{"relative":"last_n_days","n":%d}}]},"sort":[{"field":"created_at","direction":"desc"}],"limit":50}',
    statuses[math.random(#statuses)], provinces[math.random(#provinces)], days[math.random(#days)])
  return wrk.format(nil, "/api/v1/leads/search", nil, body)
end
