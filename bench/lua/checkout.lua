-- Checkout as a buyer does it: POST /orders, then POST /orders/<id>/payments, again and again.
-- Run with as many threads as connections, so each thread (one buyer) alternates strictly.
-- Arguments: tokens file, comma-separated SKU ids, channel.
local threads = {}
local token, skus, channel = nil, {}, "wechat_jsapi"
local order_id = nil
local counter = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local n = 0
  for line in io.lines(args[1]) do
    if n == tid then token = line end
    n = n + 1
  end
  for sku in string.gmatch(args[2], "%d+") do table.insert(skus, sku) end
  channel = args[3] or channel
  counter = tid
end

function request()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  if order_id then
    local path = "/api/v1/orders/" .. order_id .. "/payments"
    order_id = nil
    return wrk.format("POST", path, headers, '{"channel": "' .. channel .. '"}')
  end
  counter = counter + 1
  local sku = skus[(counter % #skus) + 1]
  local body = '{"items": [{"sku_id": ' .. sku .. ', "quantity": 1}], "address": {"name": "张三", ' ..
    '"phone": "13800138000", "region_code": "430225", "detail": "炎陵县霞阳镇1号"}}'
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  if status == 201 and string.find(body, '"expired"') then
    order_id = string.match(body, '^{"id":%s*(%d+)')
  end
end
