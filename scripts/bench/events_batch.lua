-- POST /events/batch: 1,000 events of five names about random customers, each with two
-- properties; no event ids (the server makes them), so every batch stores 1,000 rows.
local customers = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/customers.txt") do customers[#customers + 1] = line end
local names = {"page_view", "app_open", "search", "cart.item_added", "device.reading"}
local size = tonumber(os.getenv("BENCH_BATCH") or "1000")
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local events = {}
  for i = 1, size do
    events[i] = string.format(
      '{"name":"%s","customer":{"id":"%s"},"properties":{"path":"/p/%d","seconds":%d}}',
      names[math.random(#names)], customers[math.random(#customers)], math.random(500), math.random(300))
  end
  return wrk.format(nil, "/api/v1/events/batch", nil, '{"events":[' .. table.concat(events, ",") .. ']}')
end
