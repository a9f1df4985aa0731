-- Loaded by bench/run.py into wrk:  wrk ... -s bench/wrk.lua URL -- METHOD [JSON_BODY]
-- Counts the requests sent and every response by status code, and prints one JSON
-- line for run.py. A request sent and never answered (the server hangs, or the run
-- ended first) shows as sent minus answered: wrk itself reports answers only.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   -- wrk calls request() once on the first thread to check what it returns, before
   -- any connection opens: that call sends nothing, so that thread starts at -1.
   thread:set("sent", #threads == 1 and -1 or 0)
end

function init(args)
   wrk.method = args[1] or "GET"
   if args[2] then
      wrk.body = args[2]
      wrk.headers["Content-Type"] = "application/json"
   end
   statuses = {}
end

function request()
   sent = sent + 1
   return wrk.request()  -- the request wrk built once from the method, headers and body
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total, sent = {}, 0
   for _, thread in ipairs(threads) do
      sent = sent + thread:get("sent")
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
      'BENCH {"duration_us": %d, "sent": %d, "requests": %d, "statuses": {%s}, '
         .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, '
         .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.duration, sent, summary.requests, table.concat(parts, ", "),
      errors.connect, errors.read, errors.write, errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.max
   ))
end
