-- A Persian quick search (`q`) with a last name drawn from the data set, written with
-- Arabic yeh/kaf so that normalisation is exercised.
local names = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/names.txt") do names[#names + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local q = names[math.random(#names)]
  return wrk.format(nil, "/api/v1/customers/search", nil, '{"q":"' .. q .. '","limit":50}')
end
