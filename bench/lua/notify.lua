-- POST WeChat Pay notifications, one body per line of the file given, each thread its own share.
-- Arguments: bodies file, number of threads.
local threads = {}
local bodies = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if n % nthreads == tid then table.insert(bodies, line) end
    n = n + 1
  end
end

function request()
  counter = counter + 1
  local body = bodies[((counter - 1) % #bodies) + 1]
  return wrk.format("POST", "/api/v1/payments/notify/wechat", {["Content-Type"] = "text/xml"}, body)
end
