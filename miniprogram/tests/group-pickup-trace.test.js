// The rest of the buyer's ways in: a product's code (scene), a group started, shared and joined by a
// friend, a pickup at the station with the phone number from WeChat's button, and a 合格证 label's code.
const { Phone } = require('./support/phone')
const { api, manager, eventually } = require('./support/server')

jest.setTimeout(300000)

async function stockedProductOf(stationId) {
  const list = (await api('GET', `/products?station=${stationId}&per_page=50`)).body.items
  for (const item of list) {
    const detail = (await api('GET', `/products/${item.id}`)).body
    if (detail.skus[0].stock >= 10) return detail
  }
  throw new Error('no stocked product at the station')
}

const tokenOf = (phone) => JSON.parse(phone.device.storage.get('session')).token

test('a group is started from a product code, shared, joined by a friend and succeeds', async () => {
  const station = await manager()
  const product = await stockedProductOf(station.stationId)
  const sku = product.skus[0]
  // The station offers a 2-person group price (or already does: one active offer per size).
  const created = await api('POST', `/products/${product.id}/group-offers`, { sku_id: sku.id, price_fen: sku.price_fen - 100, group_size: 2, hours: 24 }, station.token)
  const offers = (await api('GET', `/products/${product.id}/group-offers`)).body
  const offer = { body: created.status === 201 ? created.body : offers.find((o) => o.sku_id === sku.id && o.is_active) }
  expect(offer.body).toBeTruthy()
  expect(offer.body.group_size).toBe(2)

  // The product's mini-program code opens the home page with its scene, which leads to the product.
  const leader = new Phone({ loginCode: `group-leader-${Date.now()}` })
  await leader.open(`/pages/index/index?scene=${encodeURIComponent('p' + product.id)}`)
  expect(leader.page.pagePath).toBe('pages/product/detail')
  expect(leader.text()).toContain('2人拼团')
  await leader.tap(`#start-group-${offer.body.id}`)
  expect(leader.page.pagePath).toBe('pages/order/confirm')
  await leader.tap('#choose-address')
  await leader.openType('#agree-privacy', 'agreeprivacyauthorization')
  await leader.tap('#submit-order')
  expect(leader.page.pagePath).toBe('pages/group/detail')
  const groupId = Number(leader.page.query.id)
  await eventually(async () => (await api('GET', `/groups/${groupId}`)).body.status === 'forming')
  await leader.open(`/pages/group/detail?id=${groupId}`)
  expect(leader.text('#group-status')).toBe('拼团中')
  expect(leader.text('#time-left')).toMatch(/还剩 \d+小时\d+分，还差 1 人/)
  const share = leader.instance.onShareAppMessage()
  expect(share.path).toBe(`/pages/group/detail?id=${groupId}`)
  expect(leader.has('#share-group')).toBe(true)

  // A friend opens the share card on her own phone and joins.
  const friend = new Phone({ loginCode: `group-friend-${Date.now()}` })
  await friend.open(share.path)
  expect(friend.text()).toContain('团长')
  await friend.tap('#join-group')
  await friend.openType('#agree-privacy', 'agreeprivacyauthorization')
  const group = await eventually(async () => {
    const body = (await api('GET', `/groups/${groupId}`)).body
    return body.status === 'succeeded' && body
  })
  expect(group.paid_members).toBe(2)
  await friend.open(share.path)
  expect(friend.text('#group-status')).toBe('拼团成功')
  expect(friend.has('#join-group')).toBe(false)
})

test('a pickup at the station uses the phone number WeChat confirms and shows the code and its QR', async () => {
  const station = await manager()
  const product = await stockedProductOf(station.stationId)
  const phone = new Phone({ loginCode: `pickup-buyer-${Date.now()}` })
  await phone.open(`/pages/product/detail?id=${product.id}`)
  await phone.tap('#buy-now')
  await phone.tap('#mode-pickup')
  expect(phone.text()).toContain(product.station.name)
  await phone.type('#contact-name', '王阿姨')
  // The order cannot go without a number: the screen says so, nothing is placed.
  await phone.tap('#submit-order')
  expect(phone.device.modals.pop().content).toContain('获取手机号')
  await phone.openType('#get-phone', 'getphonenumber', { code: `phone-${Date.now()}`, errMsg: 'getPhoneNumber:ok' })
  expect(phone.text()).toMatch(/取货手机号：1\d{2}\*{4}\d{4}/)
  await phone.tap('#submit-order')
  expect(phone.page.pagePath).toBe('pages/order/detail')
  const orderId = Number(phone.page.query.id)
  await eventually(async () => (await api('GET', `/orders/${orderId}`, undefined, tokenOf(phone))).body.status === 'paid')
  const templates = (await api('GET', '/client-config')).body.subscribe_templates
  expect(phone.device.subscribeRequests[0]).toEqual([templates.pickup_ready, templates.refund_result])
  await phone.open(`/pages/order/detail?id=${orderId}`)
  const order = (await api('GET', `/orders/${orderId}`, undefined, tokenOf(phone))).body
  expect(order.fulfilment).toBe('pickup')
  expect(phone.text('#pickup-code')).toBe(order.pickup.code)
  expect(phone.data.pickupImage).toMatch(/\.png$/)
  expect(phone.has('#pickup-qr')).toBe(true)
})

test('a 合格证 label opens the trace page, by its code or by its link', async () => {
  const station = await manager()
  const batches = (await api('GET', '/batches?per_page=5', undefined, station.token)).body.items
  expect(batches.length).toBeGreaterThan(0)
  const code = batches[0].trace_code
  const trace = (await api('GET', `/trace/${code}`)).body

  const phone = new Phone({ loginCode: `scanner-${Date.now()}` })
  await phone.open(`/pages/index/index?scene=${encodeURIComponent('t' + code)}`)
  expect(phone.page.pagePath).toBe('pages/trace/index')
  expect(phone.text('#trace-title')).toBe(trace.product.title)
  expect(phone.text()).toContain(trace.village.name)
  expect(phone.text()).toContain('承诺达标合格证')

  const link = encodeURIComponent(`https://example.cn/t/${code}`)
  await phone.open(`/pages/trace/index?q=${link}`)
  expect(phone.text('#trace-title')).toBe(trace.product.title)
  await phone.tap('#trace-product')
  expect(phone.page.pagePath).toBe('pages/product/detail')
})
