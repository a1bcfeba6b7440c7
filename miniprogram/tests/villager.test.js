// 李秀英's journey (JOURNEYS.md): the station hands her a 6-digit bind code on paper; she logs in with
// WeChat, enters it, and sees her goods, this month's sales, money pending and available, each payout
// with its date, and decides whether her name may appear on trace labels.
const { Phone } = require('./support/phone')
const { api, manager, staffToken } = require('./support/server')

jest.setTimeout(300000)

async function sellerWithPayouts(station) {
  const county = await staffToken('yanling', 'demo-yanling-2026')
  const payouts = (await api('GET', '/payouts?region=430225&per_page=100', undefined, county)).body.items
  const paidSellers = new Set(payouts.filter((p) => p.owner.startsWith('seller:')).map((p) => Number(p.owner.split(':')[1])))
  const sellers = (await api('GET', `/sellers?station_id=${station.stationId}&per_page=100`, undefined, station.token)).body.items
  return sellers.find((seller) => paidSellers.has(seller.id) && !seller.bound)
}

test('a villager binds with the station code and sees her goods, sales, money and payouts', async () => {
  const station = await manager()
  const seller = await sellerWithPayouts(station)
  expect(seller).toBeTruthy()
  const issued = await api('POST', `/sellers/${seller.id}/bind-code`, undefined, station.token)
  expect(issued.status).toBe(200)
  const code = issued.body.bind_code
  expect(code).toMatch(/^\d{6}$/)

  const phone = new Phone({ loginCode: `villager-${seller.id}-${Date.now()}` })
  await phone.open('/pages/me/index')
  expect(phone.text()).toContain('微信一键登录')
  await phone.tap('#login')
  expect(phone.text('#login-state')).toBe('已登录')
  expect(phone.text('#seller-entry')).toContain('我是村民卖家')
  await phone.tap('#seller-entry')
  expect(phone.page.pagePath).toBe('pages/seller/bind')

  // A wrong code: the contract's message, in plain Chinese, on the screen.
  const wrong = code === '000000' ? '111111' : '000000'
  await phone.type('#bind-code', wrong)
  await phone.tap('#bind')
  expect(phone.text('#bind-error')).toMatch(/[\u4e00-\u9fa5]/)
  expect(phone.page.pagePath).toBe('pages/seller/bind')

  await phone.type('#bind-code', code)
  await phone.tap('#bind')
  expect(phone.page.pagePath).toBe('pages/seller/index')
  expect(phone.text('#seller-name')).toBe(`${seller.name}，您好`)

  // What the screen shows is what the backend holds for her.
  const token = JSON.parse(phone.device.storage.get('session')).token
  const mine = (await api('GET', '/sellers/me', undefined, token)).body
  const yuan = (fen) => '¥' + (fen / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  expect(phone.text('#pending')).toBe(yuan(mine.balances.pending_fen))
  expect(phone.text('#available')).toBe(yuan(mine.balances.available_fen))
  expect(phone.text('#month-sales')).toBe(`${mine.sales_this_month.units} 件，${yuan(mine.sales_this_month.gmv_fen)}`)
  expect(mine.payouts.length).toBeGreaterThan(0)
  const payout = mine.payouts[0]
  expect(phone.text(`#payout-${payout.id}`)).toContain(yuan(payout.amount_fen))
  expect(phone.text(`#payout-${payout.id}`)).toMatch(/\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}/)
  for (const product of mine.products) expect(phone.text(`#my-product-${product.id}`)).toContain(product.title)
  expect(phone.text()).not.toMatch(/\d{11}/) // no full phone number anywhere

  // The consent to be shown as 李** on trace labels, both ways.
  const before = mine.seller.show_name_on_trace
  await phone.tap('#toggle-consent')
  expect((await api('GET', '/sellers/me', undefined, token)).body.seller.show_name_on_trace).toBe(!before)
  expect(phone.text('#consent-state')).toBe(!before ? '已同意显示' : '不显示')
  await phone.tap('#toggle-consent')
  expect((await api('GET', '/sellers/me', undefined, token)).body.seller.show_name_on_trace).toBe(before)

  // Back on 我的, the entrance now leads to her page.
  await phone.open('/pages/me/index')
  expect(phone.text('#seller-entry')).toContain('我的乡亲小店')
  expect(phone.text('#service-phone')).toContain((await api('GET', '/client-config')).body.service_phone)
})
