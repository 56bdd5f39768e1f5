-- Customer search on scores: CLV above a threshold within an RFM segment, newest first;
-- and P(alive) below a half, highest CLV first. BENCH_CLV is a CLV near the median.
local clv = tonumber(os.getenv("BENCH_CLV") or "1000000")
local segments = {"at_risk", "loyal", "hibernating", "champions", "need_attention"}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body
  if n % 2 == 0 then
    body = string.format(
      '{"filter":{"and":[{"field":"score.clv","op":"gt","value":%d},{"field":"score.rfm_segment","op":"eq","value":"%s"}]},"sort":[{"field":"created_at","direction":"desc"}],"limit":50}',
      clv, segments[math.random(#segments)])
  else
    body = '{"filter":{"field":"score.p_alive","op":"lt","value":0.5},"sort":[{"field":"score.clv","direction":"desc"}],"limit":50}'
  end
  return wrk.format(nil, "/api/v1/customers/search", nil, body)
end
