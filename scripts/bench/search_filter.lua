-- A filtered customer search: one city and one lifecycle stage, newest first.
local cities = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/cities.txt") do cities[#cities + 1] = line end
local stages = {"awareness", "consideration", "purchase", "retention", "advocacy"}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"filter":{"and":[{"field":"city","op":"eq","value":"%s"},{"field":"lifecycle_stage","op":"eq","value":"%s"}]},"sort":[{"field":"created_at","direction":"desc"}],"limit":50}',
    cities[math.random(#cities)], stages[math.random(#stages)])
  return wrk.format(nil, "/api/v1/customers/search", nil, body)
end
