// The one module that calls wx.request: base URL from config/, the bearer token, one refresh (or a
// silent wx.login) on 401, the contract's error message shown in plain Chinese, one retry on a network failure.
const config = require('../config/index')
const session = require('./session')

const NETWORK_MESSAGE = '网络不太好，请检查网络后再试'

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details || {}
  }
}

function send(method, path, data, token) {
  return new Promise((resolve, reject) => {
    const header = { 'content-type': 'application/json' }
    if (token) header.Authorization = 'Bearer ' + token
    wx.request({
      url: config.apiBase + path,
      method,
      data,
      header,
      timeout: config.requestTimeoutMs,
      success: (res) => resolve(res),
      fail: (err) => reject(new ApiError(0, 'network', NETWORK_MESSAGE, { errMsg: err && err.errMsg })),
    })
  })
}

async function sendWithRetry(method, path, data, token) {
  try {
    return await send(method, path, data, token)
  } catch (err) {
    if (err.code !== 'network') throw err
    return send(method, path, data, token) // one retry: a lift or a weak signal in the village
  }
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => resolve(res.code),
      fail: () => reject(new ApiError(0, 'login_failed', '微信登录失败，请稍后再试')),
    })
  })
}

// Sign in with wx.login in one step (no profile pop-up): the backend exchanges the code.
async function login() {
  const code = await wxLogin()
  const res = await sendWithRetry('POST', '/auth/wechat-login', { code })
  if (res.statusCode !== 200) throw toError(res)
  return session.save(res.data)
}

async function refresh() {
  const current = session.get()
  if (current && current.refreshToken) {
    const res = await sendWithRetry('POST', '/auth/refresh', { refresh_token: current.refreshToken })
    if (res.statusCode === 200) return session.save(res.data)
  }
  return login()
}

function toError(res) {
  const body = (res && res.data && res.data.error) || {}
  return new ApiError(res.statusCode, body.code || 'http_' + res.statusCode, body.message || '服务暂时不可用，请稍后再试', body.details)
}

function showError(err) {
  wx.showModal({ title: '提示', content: err.message, showCancel: false, confirmText: '知道了' })
}

// options.auth: 'required' (log in first when needed), 'optional' (send the token if there is one), 'none'
// options.quiet: do not show the error (the page shows it itself)
async function request(method, path, data, options = {}) {
  const auth = options.auth || 'required'
  try {
    let current = session.get()
    if (auth === 'required' && !current) current = await login()
    let res = await sendWithRetry(method, path, data, auth === 'none' ? null : current && current.token)
    if (res.statusCode === 401 && auth !== 'none') {
      current = await refresh() // one refresh, then the request once more
      res = await sendWithRetry(method, path, data, current.token)
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res.data
    throw toError(res)
  } catch (err) {
    const error = err instanceof ApiError ? err : new ApiError(0, 'client', '出了点问题，请稍后再试')
    if (!options.quiet) showError(error)
    throw error
  }
}

module.exports = {
  ApiError,
  login,
  request,
  showError,
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, data, options) => request('POST', path, data || {}, options),
  put: (path, data, options) => request('PUT', path, data || {}, options),
  del: (path, options) => request('DELETE', path, undefined, options),
}
