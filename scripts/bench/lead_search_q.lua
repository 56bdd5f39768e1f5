-- A Persian quick search (`q`) of the leads with a surname drawn from the data, written
-- with Arabic yeh/kaf so that normalisation is exercised, 50 per page.
local names = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/names.txt") do names[#names + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  return wrk.format(nil, "/api/v1/leads/search", nil, '{"q":"' .. names[math.random(#names)] .. '","limit":50}')
end
