// When MINIPROGRAM_SCREENSHOTS names a folder, each page a journey shows is saved there as HTML: the
// simulated DOM with built-in tags turned into HTML ones, app.wxss and the page's WXSS (rpx → px at a
// 375 px wide screen), product photos fetched while the backend still runs. scripts/screenshots.py
// renders them in Chromium.
const crypto = require('crypto')
const fs = require('fs')
const http = require('http')
const path = require('path')

const DIR = process.env.MINIPROGRAM_SCREENSHOTS
const ROOT = path.resolve(__dirname, '../..')

function rpxToPx(css) {
  return css.replace(/(-?\d*\.?\d+)rpx/g, (_, n) => `${(Number(n) / 2).toFixed(2)}px`)
}

function fetchTo(url, file) {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false }, (res) => {
        if (res.statusCode !== 200) {
          res.resume()
          return resolve(false)
        }
        const out = fs.createWriteStream(file)
        res.pipe(out)
        out.on('finish', () => resolve(true))
      })
      .on('error', () => resolve(false))
  })
}

const BASE_CSS = `
html, body { margin: 0; padding: 0; width: 375px; background: #f5f5f5; }
wx-view, wx-swiper, wx-swiper-item, wx-scroll-view, main, parent-wrapper { display: block; }
wx-text { display: inline; }
wx-button, .wx-button { display: block; box-sizing: border-box; border: none; text-align: center; }
wx-view[class*="card"] { box-sizing: border-box; }
img.wx-image { display: block; object-fit: cover; background: #e6e6e6; }
input.wx-input, textarea.wx-textarea { box-sizing: border-box; width: 100%; font-family: inherit; }
wx-swiper { overflow: hidden; }
.tabbar { position: fixed; left: 0; right: 0; bottom: 0; height: 50px; display: flex; background: #fff; border-top: 1px solid #ddd; font-size: 12px; }
.tabbar div { flex: 1; text-align: center; line-height: 50px; color: #555; }
.tabbar .on { color: #1a7f37; font-weight: bold; }
.navbar { height: 44px; line-height: 44px; text-align: center; background: #1a7f37; color: #fff; font-size: 17px; font-weight: bold; }
`

async function saveSnapshot(entry, title, tabs) {
  if (!DIR) return
  fs.mkdirSync(path.join(DIR, 'img'), { recursive: true })
  const root = entry.component.dom.cloneNode(true)
  // Classes are prefixed per component by the simulator (main--card); app.wxss needs the bare names too.
  root.querySelectorAll('[class]').forEach((node) => {
    const names = node.getAttribute('class').split(/\s+/).filter(Boolean)
    node.setAttribute('class', names.concat(names.map((n) => n.replace(/^.*--/, ''))).join(' '))
  })
  for (const image of Array.from(root.querySelectorAll('wx-image'))) {
    const img = root.ownerDocument.createElement('img')
    img.setAttribute('class', `${image.getAttribute('class') || ''} wx-image`)
    const holder = image.querySelector('[data-src]')
    const src = (holder && holder.getAttribute('data-src')) || ''
    if (/^https?:\/\//.test(src)) {
      const name = crypto.createHash('sha1').update(src).digest('hex').slice(0, 16) + path.extname(new URL(src).pathname)
      if (fs.existsSync(path.join(DIR, 'img', name)) || (await fetchTo(src, path.join(DIR, 'img', name)))) img.setAttribute('src', `img/${name}`)
    } else if (src && fs.existsSync(src)) {
      const name = path.basename(src)
      fs.copyFileSync(src, path.join(DIR, 'img', name))
      img.setAttribute('src', `img/${name}`)
    }
    image.replaceWith(img)
  }
  for (const input of Array.from(root.querySelectorAll('wx-input, wx-textarea'))) {
    const tag = input.tagName.toLowerCase() === 'wx-input' ? 'input' : 'textarea'
    const field = root.ownerDocument.createElement(tag)
    field.setAttribute('class', `${input.getAttribute('class') || ''} wx-${tag}`)
    field.setAttribute('placeholder', input.getAttribute('placeholder') || '')
    if (input.getAttribute('value')) field.setAttribute(tag === 'input' ? 'value' : 'data-v', input.getAttribute('value'))
    if (tag === 'textarea') field.textContent = input.getAttribute('value') || ''
    input.replaceWith(field)
  }
  // The simulator injects WXSS at 1 rpx = 1 px; a 375 px phone has 1 rpx = 0.5 px, so read the sources.
  const sheets = [`${entry.pagePath}.wxss`, 'components/product-card/index.wxss', 'components/privacy-popup/index.wxss']
  const styles = sheets.map((file) => rpxToPx(fs.readFileSync(path.join(ROOT, file), 'utf8'))).join('\n')
  const appCss = rpxToPx(fs.readFileSync(path.join(ROOT, 'app.wxss'), 'utf8')).replace(/\bpage\s*\{/, 'body {')
  const tabBar = tabs
    ? `<div class="tabbar">${tabs.map((tab) => `<div class="${tab.on ? 'on' : ''}">${tab.text}</div>`).join('')}</div><div style="height:56px"></div>`
    : ''
  const html = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>${BASE_CSS}\n${appCss}\n${styles}</style></head>
<body><div class="navbar">${title}</div>${root.outerHTML}${tabBar}</body></html>`
  fs.writeFileSync(path.join(DIR, entry.pagePath.replace(/\//g, '_').replace(/^pages_/, '') + '.html'), html)
}

module.exports = { saveSnapshot, enabled: Boolean(DIR) }
