-- A deep page (50 entries) of one customer's timeline: after a cursor drawn from those
-- of the second half of its entries (BENCH_DIR/cursors.txt, URL-encoded).
local cursors = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/cursors.txt") do cursors[#cursors + 1] = line end
local base = "/api/v1/customers/" .. os.getenv("BENCH_CUSTOMER") .. "/timeline?cursor="
request = function()
  return wrk.format("GET", base .. cursors[math.random(#cursors)])
end
