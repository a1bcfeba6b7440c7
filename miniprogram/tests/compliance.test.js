// WeChat's rules for a shop mini-program (2025–26), checked in app.json, the WXML and the JS as shipped.
const fs = require('fs')
const path = require('path')
const { ROOT } = require('./support/phone')

const appJson = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
const read = (file) => fs.readFileSync(path.join(ROOT, file), 'utf8')
const pages = appJson.pages
const wxmlOf = (page) => read(`${page}.wxml`)
const allWxml = () => pages.map(wxmlOf).concat(['components/privacy-popup/index'].map((c) => read(`${c}.wxml`)))

test('every page in app.json has its four files, and tab pages are pages', () => {
  for (const page of pages) {
    for (const ext of ['js', 'json', 'wxml', 'wxss']) expect(fs.existsSync(path.join(ROOT, `${page}.${ext}`))).toBe(true)
    expect(read(`${page}.js`)).toMatch(/^Component\(\{/m) // pages are Component()s
  }
  for (const tab of appJson.tabBar.list) expect(pages).toContain(tab.pagePath)
})

test('the paths the backend links to exist: order centre, station code, product, group', () => {
  for (const page of ['pages/order/detail', 'pages/station/index', 'pages/product/detail', 'pages/group/detail']) expect(pages).toContain(page)
  expect(read('pages/order/detail.js')).toMatch(/onLoad\(query\)[\s\S]*query\.id/)
  expect(read('pages/station/index.js')).toMatch(/query\.scene/)
})

test('privacy: requiredPrivateInfos declares chooseAddress; the agreement flow comes before private APIs', () => {
  expect(appJson.requiredPrivateInfos).toEqual(expect.arrayContaining(['chooseAddress']))
  const popup = read('components/privacy-popup/index.wxml')
  expect(popup).toMatch(/open-type="agreePrivacyAuthorization"/)
  expect(popup).toMatch(/bindagreeprivacyauthorization="onAgree"/)
  expect(read('components/privacy-popup/index.js')).toMatch(/wx\.getPrivacySetting/)
  expect(read('app.js')).toMatch(/wx\.onNeedPrivacyAuthorization/)
  // Every page that reaches a private API (address book, phone number) carries the popup.
  for (const page of pages) {
    const source = read(`${page}.js`) + wxmlOf(page)
    if (/chooseAddress|addressBook\.choose|getPhoneNumber/.test(source)) {
      expect(wxmlOf(page)).toMatch(/<privacy-popup id="privacy"/)
      expect(JSON.parse(read(`${page}.json`)).usingComponents['privacy-popup']).toBe('/components/privacy-popup/index')
    }
  }
})

test('the phone number only through an open-type="getPhoneNumber" button; no profile pop-up', () => {
  const sources = pages.map((p) => read(`${p}.js`)).join('\n') + fs.readdirSync(path.join(ROOT, 'utils')).map((f) => read(`utils/${f}`)).join('\n')
  expect(sources).not.toMatch(/getUserProfile|getUserInfo/)
  const phoneButtons = allWxml().join('\n').match(/<button[^>]*getPhoneNumber[^>]*>/g) || []
  expect(phoneButtons.length).toBeGreaterThan(0)
  for (const button of phoneButtons) expect(button).toMatch(/open-type="getPhoneNumber"[^>]*bindgetphonenumber=/)
})

test('wx.request is called in utils/request.js only, and payments pass the API params untouched', () => {
  const files = []
  const walk = (dir) =>
    fs.readdirSync(path.join(ROOT, dir)).forEach((name) => {
      const rel = path.join(dir, name)
      if (fs.statSync(path.join(ROOT, rel)).isDirectory()) walk(rel)
      else if (rel.endsWith('.js')) files.push(rel)
    })
  ;['pages', 'components', 'utils'].forEach(walk)
  const callers = files.filter((file) => /wx\.request\(/.test(read(file)))
  expect(callers).toEqual(['utils/request.js'])
  expect(read('utils/pay.js')).toMatch(/wx\.requestPayment\(\{\s*\.\.\.payment\.params,/)
  expect(read('config/index.js')).toMatch(/https:\/\//)
})

test('user-facing text is Chinese and sizes are rpx', () => {
  for (const page of pages) {
    const wxml = wxmlOf(page).replace(/\{\{[^}]*\}\}/g, '').replace(/<[^>]+>/g, '\n')
    const words = wxml.split('\n').map((s) => s.trim()).filter(Boolean)
    for (const text of words) expect(text).not.toMatch(/^[A-Za-z][A-Za-z ]{3,}$/)
    const wxss = read(`${page}.wxss`)
    expect(wxss).not.toMatch(/\d+px/)
    for (const size of wxss.match(/font-size:\s*(\d+)rpx/g) || []) expect(Number(size.match(/\d+/)[0])).toBeGreaterThanOrEqual(26)
  }
})

test('sharing: the group page shares itself; subscribe messages use the templates the backend publishes', () => {
  expect(read('pages/group/detail.js')).toMatch(/onShareAppMessage\(\)[\s\S]*\/pages\/group\/detail\?id=/)
  expect(wxmlOf('pages/group/detail')).toMatch(/open-type="share"/)
  expect(read('utils/subscribe.js')).toMatch(/\/client-config/)
  expect(read('utils/subscribe.js')).toMatch(/wx\.requestSubscribeMessage/)
})
