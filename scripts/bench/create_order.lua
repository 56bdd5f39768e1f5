-- POST /orders: a paid order of three lines of catalogue products for a random customer.
local buyers, products = {}, {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/buyers.txt") do buyers[#buyers + 1] = line end
for line in io.lines(os.getenv("BENCH_DIR") .. "/products.txt") do products[#products + 1] = line end
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  local body = string.format(
    '{"customer_id":"%s","status":"paid","channel":"online","lines":[{"product_id":"%s","quantity":1},{"product_id":"%s","quantity":2},{"product_id":"%s","quantity":1,"discount":1000}]}',
    buyers[math.random(#buyers)], products[math.random(#products)], products[math.random(#products)], products[math.random(#products)])
  return wrk.format(nil, "/api/v1/orders", nil, body)
end
