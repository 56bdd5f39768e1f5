-- An agent's queue: their open tickets, soonest resolution due first, 50 a page, each
-- request as one of the agents (BENCH_DIR/agents.txt: id and access token a line).
local agents = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/agents.txt") do
  local id, token = line:match("^(%S+) (%S+)$")
  agents[#agents + 1] = {id = id, token = token}
end
request = function()
  local agent = agents[math.random(#agents)]
  local body = string.format(
    '{"filter":{"and":[{"field":"owner_id","op":"eq","value":"%s"},{"field":"status","op":"in","value":["new","open","pending_customer","on_hold","reopened"]}]},"sort":[{"field":"resolution_due_at","direction":"asc"}],"limit":50}',
    agent.id)
  return wrk.format("POST", "/api/v1/tickets/search",
    {["content-type"] = "application/json", ["authorization"] = "Bearer " .. agent.token}, body)
end
