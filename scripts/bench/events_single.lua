-- POST /events: one event about a random customer.
local customers = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/customers.txt") do customers[#customers + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"name":"page_view","customer":{"id":"%s"},"properties":{"path":"/p/%d","seconds":%d}}',
    customers[math.random(#customers)], math.random(500), math.random(300))
  return wrk.format(nil, "/api/v1/events", nil, body)
end
