-- wrk script: sends each request of a file once, split between wrk's threads, then stops.
-- usage: wrk -s bench/requests.lua URL -- FILE THREADS [MEAN_DELAY_MS [CYCLE]]
-- FILE has one request a line: "METHOD<TAB>PATH<TAB>STRIPE_SIGNATURE<TAB>BODY" (empty fields
-- allowed). MEAN_DELAY_MS > 0 paces each connection (uniform 0.5-1.5x the mean between its
-- requests) to offer a fixed rate of about connections * 1000 / MEAN_DELAY_MS per second.
-- CYCLE = 1 starts the file again when it is done instead of stopping (until -d is over).
-- done() prints one JSON line starting with "BENCH_JSON ". wrk's own duration is always the
-- whole -d, so each thread notes (monotonic clock, through LuaJIT's ffi) when it sent its first
-- request and when its last answer came: their span is the run's real length.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]])
local timespec = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local queue = {}
local next_index = 1
local mean_delay = 0
local cycle = false

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  mean_delay = tonumber(args[3] or "0")
  cycle = args[4] == "1"
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == id - 1 then
      local method, path, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      -- wrk.format uses the table given instead of the -H headers: copy them in.
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      if sig ~= "" then
        headers["Stripe-Signature"] = sig
        headers["Content-Type"] = "application/json"
      end
      table.insert(queue, wrk.format(method, path, headers, body))
    end
    n = n + 1
  end
  sent = 0
  answered = 0
  failed = 0
  first_us = 0
  last_us = 0
  math.randomseed(id * 7919)
  if mean_delay <= 0 then
    -- wrk paces connections only when a global `delay` exists after init.
    delay = nil
  end
end

local finished = false
-- wrk calls request() once on the first thread before it starts, to check what it returns
-- (script_verify_request in wrk.c): that call must not use up a real request.
local verified = false
FILLER = "/bench-filler-no-such-route"

function request()
  if id == 1 and not verified then
    verified = true
    return wrk.format("GET", FILLER)
  end
  if cycle and next_index > #queue then
    next_index = 1
  end
  local req = queue[next_index]
  if req == nil then
    -- Something must be sent while the last answers come in: a cheap request to a path no
    -- server here has, whose 404 tells its answer apart from the real ones'.
    return wrk.format("GET", FILLER)
  end
  next_index = next_index + 1
  if sent == 0 then
    first_us = now_us()
  end
  sent = sent + 1
  return req
end

function response(status, headers, body)
  if status == 404 and next_index > #queue and not cycle then
    return -- a filler's answer (the real requests never ask for a missing page)
  end
  if answered < sent then
    answered = answered + 1
    last_us = now_us()
    if status < 200 or status > 299 then
      failed = failed + 1
    end
  end
  -- wrk's main thread sleeps for the whole -d whatever its threads do: tell the caller this
  -- thread is done, and it interrupts wrk (SIGINT), which then reports at once.
  if not cycle and not finished and answered >= #queue then
    finished = true
    io.write("BENCH_THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function delay()
  return mean_delay * (0.5 + math.random())
end

function done(summary, latency, requests)
  local sent_total, answered_total, failed_total = 0, 0, 0
  local first, last = nil, 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + (thread:get("sent") or 0)
    answered_total = answered_total + (thread:get("answered") or 0)
    failed_total = failed_total + (thread:get("failed") or 0)
    local f, l = thread:get("first_us") or 0, thread:get("last_us") or 0
    if f > 0 and (first == nil or f < first) then
      first = f
    end
    if l > last then
      last = l
    end
  end
  local span = 0
  if first ~= nil and last > first then
    span = last - first
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "sent": %d, "answered": %d, "failed": %d, "span_us": %d, '
      .. '"duration_us": %d, "errors_connect": %d, '
      .. '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "mean_us": %.1f, '
      .. '"max_us": %d}\n',
    summary.requests, sent_total, answered_total, failed_total, span, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
end
