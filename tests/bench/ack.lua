-- wrk script for the `serve` benchmark: every request POSTs the same valid,
-- signed Mattermost button callback (the driver writes it to the file named
-- by BENCH_CALLBACK_FILE, built from a real `notify --dry-run` post), and
-- `done` prints one machine-readable line the driver parses.

local path = os.getenv("BENCH_CALLBACK_FILE")
local file = assert(io.open(path, "rb"), "BENCH_CALLBACK_FILE must name a readable file")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d "
      .. "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end

-- BENCH_DELAY_MS paces each connection: wrk waits this long after an
-- answer before the next request (and leaves the pause out of latency).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  delay = function()
    return pause
  end
end
