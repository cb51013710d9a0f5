-- POST /api/v1/auth/login, each request with the next pre-minted identity token (each
-- identity token logs in once). The tokens come one per line from $BENCH_TOKENS.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local sent = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  sent = sent + 1
  local token = tokens[((sent - 1) % #tokens) + 1]
  return wrk.format(nil, nil, nil, '{"identity_token":"' .. token .. '"}')
end
