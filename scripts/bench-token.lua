-- wrk script for scripts/bench-token.sh.
--
-- BENCH_METHOD=POST: POST the form body BENCH_BODY (default grant_type=client_credentials) with
-- HTTP Basic auth BENCH_BASIC (base64 of client_id:client_secret). Otherwise a plain GET.
-- At the end it prints one machine-readable line:
--   BENCH_RESULT <req/s> <p50 us> <p90 us> <p99 us> <requests> <non-2xx/3xx> <socket errors>

local method = os.getenv("BENCH_METHOD") or "GET"

wrk.method = method
wrk.headers["Accept"] = "application/json"
if method == "POST" then
  wrk.body = os.getenv("BENCH_BODY") or "grant_type=client_credentials"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  local basic = os.getenv("BENCH_BASIC")
  if basic and basic ~= "" then
    wrk.headers["Authorization"] = "Basic " .. basic
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("BENCH_RESULT %.1f %d %d %d %d %d %d\n",
    summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
