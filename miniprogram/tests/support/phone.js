// A phone running the mini-program: opens the real pages (Component()s rendered by miniprogram-simulate),
// follows their navigation, taps their buttons and reads what their screens show.
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')
const snapshot = require('./snapshot')
const jComponent = require('j-component')

// The simulator's built-in <image> drops its src; this one keeps it on the page (data-src) so the
// screenshots (tests/support/snapshot.js) can show the photos.
jComponent.register({
  id: 'image',
  tagName: 'wx-image',
  template: '<view class="wx-image-src" data-src="{{src}}"><slot/></view>',
  properties: { src: { type: String, value: '' }, mode: { type: String, value: '' }, lazyLoad: { type: Boolean, value: false } },
})

const ROOT = path.resolve(__dirname, '../..')
const CUSTOM = ['.product-item', '#privacy']
const loaded = new Map()
const phones = []
let app = null
const APP_JSON = JSON.parse(fs.readFileSync(path.join(ROOT, 'app.json'), 'utf8'))
// Pages opened by any journey of this run, for the check that every page in app.json is reached.
const VISITED_FILE = global.__backend.dir ? path.join(global.__backend.dir, 'visited-pages.txt') : null

function loadApp() {
  if (app) return app
  global.App = (options) => {
    app = options
  }
  global.getApp = () => app
  require(path.join(ROOT, 'app.js'))
  app.onLaunch()
  return app
}

function parse(url) {
  const [pagePath, search = ''] = url.replace(/^\//, '').split('?')
  const query = {}
  search
    .split('&')
    .filter(Boolean)
    .forEach((pair) => {
      const [key, value = ''] = pair.split('=')
      query[key] = value
    })
  return { pagePath, query }
}

class Phone {
  constructor({ loginCode }) {
    const device = global.__device
    device.storage = new Map()
    device.loginCode = loginCode
    device.privacyAgreed = false
    device.modals = []
    device.toasts = []
    device.payments = []
    device.subscribeRequests = []
    device.addressBook = {
      userName: '张女士',
      telNumber: '13800138000',
      provinceName: '湖南省',
      cityName: '株洲市',
      countyName: '天元区',
      detailInfo: '泰山路88号2栋301',
      nationalCode: '430211',
    }
    device.router = this
    phones.push(this)
    this.device = device
    this.stack = []
    this.visited = new Set()
    this.pending = []
    global.getCurrentPages = () => this.stack.map((entry) => entry.component.instance)
    loadApp()
  }

  get page() {
    return this.stack[this.stack.length - 1]
  }

  navigate(kind, url) {
    this.pending.push({ kind, url })
  }

  async open(url) {
    this.stack.forEach((entry) => entry.component.detach())
    this.stack = []
    await this.show(url)
    await this.settle()
    return this.page
  }

  async show(url) {
    const { pagePath, query } = parse(url)
    const file = path.join(ROOT, pagePath)
    if (!loaded.has(file)) {
      // Each load runs the page's and its components' JS afresh (Component() registers them under new
      // ids); Jest keeps modules cached, so the registry is emptied first.
      jest.resetModules()
      loaded.set(file, simulate.load(file, { compiler: 'simulate', rootPath: ROOT }))
    }
    const component = simulate.render(loaded.get(file))
    const parent = document.createElement('parent-wrapper')
    document.body.appendChild(parent)
    component.attach(parent)
    const entry = { pagePath, query, component }
    this.stack.push(entry)
    this.visited.add(pagePath)
    if (VISITED_FILE) fs.appendFileSync(VISITED_FILE, pagePath + '\n')
    const instance = component.instance
    this.track(instance.onLoad && instance.onLoad(query))
    this.track(instance.onShow && instance.onShow())
  }

  track(result) {
    if (result && typeof result.then === 'function') {
      this.loads = (this.loads || 0) + 1
      result
        .catch((err) => {
          this.errors = (this.errors || []).concat(err)
        })
        .finally(() => {
          this.loads -= 1
        })
    }
  }

  async follow({ kind, url }) {
    if (kind === 'navigateBack') {
      this.stack.pop().component.detach()
      const instance = this.page.component.instance
      this.track(instance.onShow && instance.onShow())
      return
    }
    if (kind === 'redirectTo' && this.stack.length) this.stack.pop().component.detach()
    if (kind === 'switchTab' || kind === 'reLaunch') {
      this.stack.forEach((entry) => entry.component.detach())
      this.stack = []
    }
    await this.show(url)
  }

  // Wait until no request, timer-deferred callback, page load or navigation is outstanding.
  async settle(timeoutMs = 60000) {
    const until = Date.now() + timeoutMs
    let quiet = 0
    while (quiet < 3) {
      if (Date.now() > until) throw new Error('the page did not settle')
      await new Promise((resolve) => setTimeout(resolve, 20))
      if (this.pending.length) {
        await this.follow(this.pending.shift())
        quiet = 0
      } else if (global.__inflight() > 0 || this.loads > 0) {
        quiet = 0
      } else {
        quiet += 1
      }
    }
    if (snapshot.enabled && this.page) await this.snapshot()
  }

  // Saved as HTML for scripts/screenshots.py (only when MINIPROGRAM_SCREENSHOTS is set).
  async snapshot() {
    const entry = this.page
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, `${entry.pagePath}.json`), 'utf8'))
    const title = entry.title || config.navigationBarTitleText || APP_JSON.window.navigationBarTitleText
    const tabs = APP_JSON.tabBar.list.some((tab) => tab.pagePath === entry.pagePath)
      ? APP_JSON.tabBar.list.map((tab) => ({ text: tab.text, on: tab.pagePath === entry.pagePath }))
      : null
    await snapshot.saveSnapshot(entry, title, tabs)
  }

  close() {
    this.stack.forEach((entry) => entry.component.detach()) // stops the pages' countdown timers
    this.stack = []
  }

  find(selector, root = this.page.component) {
    const hit = root.querySelector(selector)
    if (hit) return hit
    for (const tag of CUSTOM) {
      for (const child of root.querySelectorAll(tag)) {
        const inner = this.find(selector, child)
        if (inner) return inner
      }
    }
    return null
  }

  element(selector) {
    const hit = this.find(selector)
    if (!hit) throw new Error(`${this.page.pagePath}: nothing matches ${selector}; the screen shows: ${this.text()}`)
    return hit
  }

  has(selector) {
    return Boolean(this.find(selector))
  }

  async tap(selector) {
    this.element(selector).dispatchEvent('tap')
    await this.settle()
  }

  async type(selector, value) {
    this.element(selector).dispatchEvent('input', { detail: { value } })
    await this.settle()
  }

  // What WeChat fires after the person uses an open-type button (getPhoneNumber, agreePrivacyAuthorization).
  async openType(selector, eventName, detail = {}) {
    this.element(selector).dispatchEvent(eventName, { detail })
    await this.settle()
  }

  text(selector) {
    const node = selector ? this.element(selector).dom : this.page.component.dom
    return node.textContent.replace(/\s+/g, ' ').trim()
  }

  get data() {
    return this.page.component.instance.data
  }

  get instance() {
    return this.page.component.instance
  }
}

// Each test's phones are put away after it, so no page timer outlives the test.
afterEach(() => {
  phones.splice(0).forEach((phone) => phone.close())
})

module.exports = { Phone, ROOT }
