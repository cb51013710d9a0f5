-- POST $BENCH_PATH on the mock gateway with the fixed body $BENCH_BODY, each request with the
-- next pre-signed header set (the gateway takes a nonce once): lines of
-- "timestamp nonce signature" from $BENCH_SIGNED, the app key from $BENCH_APP_KEY.
local signed = {}
for line in io.lines(os.getenv("BENCH_SIGNED")) do signed[#signed + 1] = line end
local body = os.getenv("BENCH_BODY")
local sent = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-App-Key"] = os.getenv("BENCH_APP_KEY")

request = function()
  sent = sent + 1
  local timestamp, nonce, signature = signed[((sent - 1) % #signed) + 1]:match("(%S+) (%S+) (%S+)")
  wrk.headers["X-Timestamp"] = timestamp
  wrk.headers["X-Nonce"] = nonce
  wrk.headers["X-Signature"] = signature
  return wrk.format(nil, nil, nil, body)
end
