-- GET /api/v1/customers/{id} for ids drawn at random from ids.txt.
local ids = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/ids.txt") do ids[#ids + 1] = line end
request = function()
  return wrk.format("GET", "/api/v1/customers/" .. ids[math.random(#ids)])
end
