-- Loaded by bench/capacity/measure.py into wrk:  wrk ... -s latency.lua URL -- METHOD [JSON_BODY]
-- Prints one JSON line: requests, statuses, socket errors and latency percentiles.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   wrk.method = args[1] or "GET"
   if args[2] then
      wrk.body = args[2]
      wrk.headers["Content-Type"] = "application/json"
   end
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'CAPACITY {"duration_us": %d, "requests": %d, "statuses": {%s}, '
         .. '"socket_errors": %d, "mean_us": %.1f, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
      summary.duration, summary.requests, table.concat(parts, ", "),
      errors.connect + errors.read + errors.write + errors.timeout,
      latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99)
   ))
end
