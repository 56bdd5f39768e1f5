-- POST /leads without an owner, so that the active assignment rule (round robin over a
-- team) picks one and the scoring rule counts its points. Every body is distinct: a
-- mobile and an e-mail numbered by thread and request.
local first = {"علی", "سارا", "رضا", "مریم", "امیر", "نرگس", "حمید", "لیلا", "John", "Emma"}
local last = {"محمدی", "احمدی", "کریمی", "حسینی", "رضایی", "موسوی", "صادقی", "Miller", "Rossi"}
local companies = {"شرکت پارس سامانه", "بازرگانی آریا تجارت", "Novin Systems", "هلدینگ دماوند فولاد"}
local places = {{"تهران", "تهران"}, {"اصفهان", "کاشان"}, {"فارس", "شیراز"}, {"خراسان رضوی", "مشهد"}, {"البرز", "کرج"}}
local sources = {"website", "instagram", "exhibition", "referral", "google_ads"}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
request = function()
  n = n + 1
  local serial = tid * 1000000 + n
  local place = places[math.random(#places)]
  local body = string.format(
    '{"first_name":"%s","last_name":"%s","company":"%s","phones":[{"number":"0936%07d"}],"emails":[{"address":"bench.%d@example.ir"}],"province":"%s","city":"%s","source":"%s","status":"new"}',
    first[math.random(#first)], last[math.random(#last)], companies[math.random(#companies)], serial % 10000000,
    serial, place[1], place[2], sources[math.random(#sources)])
  return wrk.format(nil, "/api/v1/leads", nil, body)
end
