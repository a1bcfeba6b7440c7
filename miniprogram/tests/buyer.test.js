// The buyer in 长沙 (JOURNEYS.md): a friend's share card → login in one tap → search 黄桃 → two boxes
// from two villages in one order → WeChat Pay (cancelled once, then paid) → shipped → confirm receipt
// → a crushed box refunded through WeChat Pay. Everything below goes through the real pages and backend.
const { Phone } = require('./support/phone')
const { api, manager, eventually, backend, call } = require('./support/server')

jest.setTimeout(300000)

// Products on sale whose first size has stock to spare (the page preselects the first size).
async function firstOnSale(query) {
  const res = await api('GET', `/products?${query}&per_page=50`)
  const stocked = []
  for (const item of res.body.items) {
    const detail = await api('GET', `/products/${item.id}`)
    if (detail.body.skus[0].stock >= 10) stocked.push(item)
  }
  return stocked
}

test('the buyer finds, orders two boxes from two villages, pays once after cancelling, confirms and gets a refund', async () => {
  const station = await manager()
  const ownGoods = (await firstOnSale(`station=${station.stationId}`))[0]
  const peaches = (await firstOnSale('q=' + encodeURIComponent('黄桃'))).find((p) => p.station.id !== station.stationId)
  expect(ownGoods).toBeTruthy()
  expect(peaches).toBeTruthy()

  const phone = new Phone({ loginCode: `buyer-changsha-${Date.now()}` })

  // A friend's share card opens the product page.
  await phone.open(`/pages/product/detail?id=${peaches.id}`)
  expect(phone.text()).toContain(peaches.title)
  expect(phone.text()).toContain(peaches.village.name)
  expect(phone.text()).toContain(peaches.station.name)
  await phone.tap('#add-to-cart') // the first call that needs a login signs in with wx.login, no pop-up
  expect(phone.text('#message')).toContain('已加入购物车')

  // Home → search 黄桃 → the list shows the product.
  await phone.open('/pages/index/index')
  expect(phone.text()).toContain('消费帮扶专区')
  await phone.type('#keyword', '黄桃')
  await phone.tap('#search')
  expect(phone.page.pagePath).toBe('pages/search/index')
  expect(phone.text()).toContain(peaches.title)

  // The 消费帮扶 channel lists certified products only.
  await phone.open('/pages/index/index')
  await phone.tap('#channel')
  expect(phone.text()).toContain('消费帮扶专区')
  expect(phone.data.products.length).toBeGreaterThan(0)
  expect(phone.data.products.every((p) => p.poverty_certified)).toBe(true)

  // Categories → one category's products.
  await phone.open('/pages/category/index')
  await phone.tap('#category-fruit')
  expect(phone.page.pagePath).toBe('pages/search/index')
  expect(phone.text()).toContain('水果')

  // The second box, from the station's own village, through its poster code (scene = station id).
  await phone.open(`/pages/station/index?scene=${station.stationId}`)
  expect(phone.text()).toContain(ownGoods.station.name)
  await phone.tap(`#product-${ownGoods.id}`)
  expect(phone.page.pagePath).toBe('pages/product/detail')
  await phone.tap('#more')
  await phone.tap('#add-to-cart')

  // A new phone: the cart lives on the server.
  const device = phone.device
  device.storage = new Map()
  await phone.open('/pages/cart/index')
  const cart = phone.data.items
  expect(cart.map((item) => item.product_id).sort()).toEqual([peaches.id, ownGoods.id].sort())
  const serverCart = await api('GET', '/cart', undefined, JSON.parse(device.storage.get('session')).token)
  expect(phone.text('#cart-total')).toBe(phone.data.total)
  expect(serverCart.body.total_fen).toBeGreaterThan(0)

  // Checkout: the address from WeChat needs the privacy agreement first.
  await phone.tap('#checkout')
  expect(phone.page.pagePath).toBe('pages/order/confirm')
  await phone.tap('#choose-address')
  expect(phone.text()).toContain('隐私保护指引')
  await phone.openType('#agree-privacy', 'agreeprivacyauthorization')
  expect(phone.text()).toContain('泰山路88号')

  // The buyer closes the payment sheet: the order waits with its countdown.
  device.cancelNextPayment = true
  await phone.tap('#submit-order')
  const templates = (await api('GET', '/client-config')).body.subscribe_templates
  expect(device.subscribeRequests[0]).toEqual([templates.order_shipped, templates.refund_result])
  expect(phone.page.pagePath).toBe('pages/order/detail')
  expect(phone.text('#order-status')).toBe('待付款')
  expect(phone.text('#countdown')).toMatch(/请在 \d+分\d+秒 内付款/)
  const orderId = Number(phone.page.query.id)
  const token = () => JSON.parse(device.storage.get('session')).token
  let order = (await api('GET', `/orders/${orderId}`, undefined, token())).body
  expect(order.status).toBe('pending_payment')
  expect(order.lines).toHaveLength(2)
  expect(new Set(order.lines.map((line) => line.village_code)).size).toBe(2)

  // Paying again works, with exactly the params the API returned.
  await phone.tap('#pay-again')
  const params = device.payments[device.payments.length - 1]
  expect(Object.keys(params).sort()).toEqual(['nonceStr', 'package', 'paySign', 'signType', 'timeStamp'])
  order = await eventually(async () => {
    const body = (await api('GET', `/orders/${orderId}`, undefined, token())).body
    return body.status === 'paid' && body
  })
  // The sandbox delivered its signed notification and the backend accepted it.
  const deliveries = (await call('GET', `${backend.sandboxUrl}/sandbox/notifications`)).body.items
  const payment = await api('GET', `/orders/${orderId}`, undefined, token())
  expect(deliveries.some((d) => d.kind === 'payment' && d.acked && d.url.endsWith('/payments/notify/wechat-v3'))).toBe(true)
  expect(payment.body.paid_channel).toBe('wechat_jsapi')
  await phone.open(`/pages/order/detail?id=${orderId}`)
  expect(phone.text('#order-status')).toBe('待发货')
  // The paid SKUs left the cart.
  expect((await api('GET', '/cart', undefined, token())).body.items).toEqual([])

  // The station ships its line; the buyer sees the tracking number.
  const ownLine = order.lines.find((line) => line.station_id === station.stationId)
  const shipped = await api('POST', `/orders/${orderId}/shipments`, { station_id: station.stationId, carrier: '中国邮政', tracking_no: 'YZ9812345678' }, station.token)
  expect(shipped.status).toBe(201)
  await phone.open('/pages/order/list?status=')
  expect(phone.text()).toContain(`订单号 ${orderId}`)
  await phone.tap(`#order-${orderId}`)
  expect(phone.text()).toContain('YZ9812345678')

  // The box from the station arrived crushed: a refund of that line with a reason.
  await phone.tap(`#refund-${ownLine.id}`)
  expect(phone.page.pagePath).toBe('pages/order/refund')
  await phone.tap('#reason-0')
  await phone.type('#refund-note', '两个桃子压坏了')
  await phone.tap('#submit-refund')
  expect(phone.text('#refund-sent')).toBe('退款申请已提交')
  const refunds = (await api('GET', `/orders/${orderId}`, undefined, token())).body
  expect(refunds.lines.find((line) => line.id === ownLine.id).status).toBe('refunding')

  // The station approves; the money goes back through WeChat Pay (the sandbox's refund notification).
  const decided = await api('POST', `/refunds/${phone.data.refundId}/decision`, { decision: 'approve' }, station.token)
  expect(decided.status).toBe(200)
  await eventually(async () => {
    const body = (await api('GET', `/orders/${orderId}`, undefined, token())).body
    return body.lines.find((line) => line.id === ownLine.id).status === 'refunded'
  })
  const refund = (await api('GET', `/refunds/${phone.data.refundId}`, undefined, token())).body
  expect(refund.amount_fen).toBe(ownLine.amount_fen)
  await phone.tap('#back-to-order')
  expect(phone.text(`#line-${ownLine.id}`)).toContain('已退款')

  // Another box bought straight from the product page, shipped, and received: 确认收货.
  await phone.open(`/pages/product/detail?id=${ownGoods.id}`)
  await phone.tap('#buy-now')
  expect(phone.page.pagePath).toBe('pages/order/confirm')
  await phone.tap('#choose-address') // agreed once: no popup this time
  await phone.tap('#submit-order')
  const secondId = Number(phone.page.query.id)
  expect(phone.page.pagePath).toBe('pages/order/detail')
  await eventually(async () => (await api('GET', `/orders/${secondId}`, undefined, token())).body.status === 'paid')
  const ship = await api('POST', `/orders/${secondId}/shipments`, { station_id: station.stationId, carrier: '顺丰速运', tracking_no: 'SF1234500001' }, station.token)
  expect(ship.status).toBe(201)
  await phone.open(`/pages/order/detail?id=${secondId}`)
  expect(phone.text('#order-status')).toBe('已发货')
  await phone.tap('#confirm-receipt')
  expect(phone.text('#order-status')).toBe('已完成')
  expect((await api('GET', `/orders/${secondId}`, undefined, token())).body.status).toBe('completed')
  expect(phone.device.modals.map((m) => m.title)).toEqual(['确认收货'])
})
