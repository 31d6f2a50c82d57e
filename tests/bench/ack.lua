-- wrk script for the `serve` benchmark. Buttons are single use, so every
-- request POSTs the click of a button of its own: the driver writes one
-- signed Mattermost callback per line to the file named by
-- BENCH_CALLBACKS_FILE (from a real `notify --dry-run` post, each with its
-- own expiry and signature). Each thread takes every n-th line from its own
-- start; past the last line the clicks repeat used buttons (refused, which
-- the driver accounts for). `done` prints one machine-readable line the
-- driver parses.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("BENCH_CALLBACKS_FILE")
  local file = assert(io.open(path, "rb"), "BENCH_CALLBACKS_FILE must name a readable file")
  bodies = {}
  for line in file:lines() do
    bodies[#bodies + 1] = line
  end
  file:close()
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  next_index = id
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[((next_index - 1) % #bodies) + 1]
  next_index = next_index + step
  return wrk.format("POST", nil, nil, body)
end

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
