-- Order search by customer and period: one buyer's orders since a date, newest first.
local buyers = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/buyers.txt") do buyers[#buyers + 1] = line end
local since = {"2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-07-01T00:00:00Z"}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"filter":{"and":[{"field":"customer_id","op":"eq","value":"%s"},{"field":"placed_at","op":"gte","value":"%s"}]},"sort":[{"field":"placed_at","direction":"desc"}],"limit":50}',
    buyers[math.random(#buyers)], since[math.random(#since)])
  return wrk.format(nil, "/api/v1/orders/search", nil, body)
end
