-- POST /api/v1/applications with a fresh Idempotency-Key for every request: each is a new
-- application (202). The body comes from $BENCH_BODY, the key prefix from $BENCH_KEY_PREFIX.
local body = os.getenv("BENCH_BODY")
local prefix = os.getenv("BENCH_KEY_PREFIX")
local sent = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  sent = sent + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. sent
  return wrk.format(nil, nil, nil, body)
end
