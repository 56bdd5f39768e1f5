-- Telegram updates to the account's webhook, each message with its own provider id
-- (chat id and message id), from a mix of senders: half customers known by their
-- Telegram id (BENCH_HANDLES of them, ids 1e9 + n), a fifth new Telegram users sharing
-- a customer's phone with the contact button (ids 5e9 + serial, the phone
-- phones.txt[serial % count]), the rest unknown senders, each a new lead (ids 9e9 +
-- serial). Counts the responses that acknowledge a stored message.
local path = os.getenv("BENCH_WEBHOOK_PATH")
local handles = tonumber(os.getenv("BENCH_HANDLES"))
local phones = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/phones.txt") do phones[#phones + 1] = line end
local texts = {"سلام، سفارشم کی می‌رسد؟", "قیمت نسخه سازمانی چقدر است؟", "کد رهگیری را لطفاً بفرستید",
               "آیا این کالا موجود است؟", "Hello, is my order shipped?"}
local names = {"مریم", "علی", "سارا", "رضا", "نرگس", "Omid"}
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_SECRET")

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

local n = 0
acked, other = 0, 0  -- globals: done() reads them with thread:get
request = function()
  n = n + 1
  local serial = tid * 100000000 + n
  local kind = n % 10
  local uid, contact = 0, ""
  if kind < 5 then
    uid = 1000000000 + math.random(0, handles - 1)
  elseif kind < 7 then
    uid = 5000000000 + serial
    contact = string.format(',"contact":{"phone_number":"%s","user_id":%d}', phones[serial % #phones + 1], uid)
  else
    uid = 9000000000 + serial
  end
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":%d,"from":{"id":%d,"is_bot":false,"first_name":"%s"},"chat":{"id":%d,"type":"private"},"text":"%s"%s}}',
    serial, serial, os.time(), uid, names[n % #names + 1], uid, texts[n % #texts + 1], contact)
  return wrk.format(nil, path, nil, body)
end

response = function(status, headers, body)
  if status == 200 and body:find('"stored":1', 1, true) then
    acked = acked + 1
  else
    other = other + 1
  end
end

done = function(summary, latency, requests)
  local a, o = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("acked")
    o = o + thread:get("other")
  end
  io.write(string.format("acknowledged stored: %d, other responses: %d\n", a, o))
end
