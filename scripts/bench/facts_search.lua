-- Customer search on purchase facts: revenue over X and the last order before D.
local revenues = {1000000, 5000000, 20000000, 50000000}
local before = {"2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z"}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"filter":{"and":[{"field":"revenue","op":"gt","value":%d},{"field":"last_order_at","op":"lt","value":"%s"}]},"sort":[{"field":"created_at","direction":"desc"}],"limit":50}',
    revenues[math.random(#revenues)], before[math.random(#before)])
  return wrk.format(nil, "/api/v1/customers/search", nil, body)
end
