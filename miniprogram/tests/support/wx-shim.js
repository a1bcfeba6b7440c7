// The `wx` the pages call, in a test: wx.request over real HTTP to the backend the run started,
// wx.login with a code the sandbox's code2session accepts, wx.requestPayment confirmed at the sandbox
// as the buyer would (the sandbox then sends its signed notification), storage in memory.
const fs = require('fs')
const http = require('http')
const os = require('os')
const path = require('path')

const backend = JSON.parse(process.env.MINIPROGRAM_BACKEND || '{}')
globalThis.__MINIPROGRAM_API_BASE__ = backend.apiBase

let inflight = 0
const device = {
  storage: new Map(),
  loginCode: 'buyer-default',
  privacyAgreed: false,
  privacyHandler: null,
  cancelNextPayment: false,
  modalAnswers: [],
  modals: [],
  toasts: [],
  subscribeRequests: [],
  payments: [],
  addressBook: null,
  titles: [],
  router: null,
}

function httpCall(method, url, { body, headers = {}, binary = false } = {}) {
  inflight += 1
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = http.request(
      {
        method,
        hostname: target.hostname,
        port: target.port,
        agent: false, // a fresh connection each time: gunicorn closes idle keep-alive sockets
        path: target.pathname + target.search,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          const raw = Buffer.concat(chunks)
          let data = raw
          if (!binary) {
            const text = raw.toString('utf8')
            data = /json/.test(res.headers['content-type'] || '') ? JSON.parse(text || 'null') : text
          }
          resolve({ statusCode: res.statusCode, data, header: res.headers })
        })
      },
    )
    req.on('error', reject)
    if (payload) req.write(payload)
    req.end()
  }).finally(() => {
    inflight -= 1
  })
}

function later(fn) {
  inflight += 1
  setTimeout(() => {
    inflight -= 1
    fn()
  }, 0)
}

function privacyGate(apiName) {
  // WeChat (with __usePrivacyCheck__) asks the page's popup before a private API runs.
  if (device.privacyAgreed) return Promise.resolve()
  return new Promise((resolve, reject) => {
    if (!device.privacyHandler) return reject(new Error(`${apiName}: privacy not agreed and no handler`))
    device.privacyHandler((answer) => {
      if (answer && answer.event === 'agree') {
        device.privacyAgreed = true
        resolve()
      } else reject(new Error('disagree'))
    })
  })
}

const wx = {
  request({ url, method = 'GET', data, header = {}, success, fail, complete }) {
    const body = method === 'GET' || data === undefined ? undefined : data
    httpCall(method, url, { body, headers: header })
      .then((res) => success && success(res), (err) => fail && fail({ errMsg: 'request:fail ' + err.message }))
      .finally(() => complete && complete())
  },
  downloadFile({ url, header = {}, success, fail }) {
    httpCall('GET', url, { headers: header, binary: true }).then(
      (res) => {
        const file = path.join(os.tmpdir(), `wx-download-${Date.now()}-${Math.random().toString(16).slice(2)}.png`)
        fs.writeFileSync(file, res.data)
        if (success) success({ statusCode: res.statusCode, tempFilePath: file })
      },
      (err) => fail && fail({ errMsg: 'downloadFile:fail ' + err.message }),
    )
  },
  login({ success }) {
    later(() => success({ code: device.loginCode, errMsg: 'login:ok' }))
  },
  requestPayment(options) {
    const { success, fail, complete, ...params } = options
    device.payments.push(params)
    if (device.cancelNextPayment) {
      device.cancelNextPayment = false
      later(() => {
        fail({ errMsg: 'requestPayment:fail cancel' })
        if (complete) complete()
      })
      return
    }
    httpCall('POST', `${backend.sandboxUrl}/sandbox/request-payment`, { body: params }).then((res) => {
      if (res.statusCode === 200) success({ errMsg: 'requestPayment:ok' })
      else fail({ errMsg: 'requestPayment:fail ' + JSON.stringify(res.data) })
      if (complete) complete()
    })
  },
  requestSubscribeMessage({ tmplIds, success }) {
    device.subscribeRequests.push(tmplIds)
    const answer = { errMsg: 'requestSubscribeMessage:ok' }
    tmplIds.forEach((id) => {
      answer[id] = 'accept'
    })
    later(() => success(answer))
  },
  getPrivacySetting({ success }) {
    later(() => success({ needAuthorization: !device.privacyAgreed, privacyContractName: '《株洲乡村好物小程序隐私保护指引》' }))
  },
  onNeedPrivacyAuthorization(handler) {
    device.privacyHandler = handler
  },
  openPrivacyContract() {},
  chooseAddress({ success, fail }) {
    // While the privacy popup waits for the person, nothing is outstanding: the test taps 同意 next.
    privacyGate('chooseAddress').then(
      () => later(() => success({ ...device.addressBook, errMsg: 'chooseAddress:ok' })),
      (err) => later(() => fail({ errMsg: 'chooseAddress:fail ' + err.message })),
    )
  },
  showModal(options) {
    device.modals.push({ title: options.title, content: options.content })
    const confirm = device.modalAnswers.length ? device.modalAnswers.shift() : true
    if (options.success) later(() => options.success({ confirm, cancel: !confirm }))
  },
  showToast(options) {
    device.toasts.push(options.title)
  },
  setNavigationBarTitle({ title }) {
    device.titles.push(title)
    if (device.router && device.router.page) device.router.page.title = title
  },
  stopPullDownRefresh() {},
  makePhoneCall() {},
  getStorageSync(key) {
    return device.storage.has(key) ? JSON.parse(device.storage.get(key)) : ''
  },
  setStorageSync(key, value) {
    device.storage.set(key, JSON.stringify(value))
  },
  removeStorageSync(key) {
    device.storage.delete(key)
  },
  navigateTo({ url }) {
    device.router.navigate('navigateTo', url)
  },
  redirectTo({ url }) {
    device.router.navigate('redirectTo', url)
  },
  switchTab({ url }) {
    device.router.navigate('switchTab', url)
  },
  reLaunch({ url }) {
    device.router.navigate('reLaunch', url)
  },
  navigateBack() {
    device.router.navigate('navigateBack')
  },
}

global.wx = wx
global.__device = device
global.__inflight = () => inflight
global.__backend = backend
