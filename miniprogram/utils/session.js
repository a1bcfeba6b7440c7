// The signed-in user's tokens, kept in wx storage so a restart keeps the login.
const KEY = 'session'

function get() {
  return wx.getStorageSync(KEY) || null
}

function save(body) {
  const session = { token: body.token, refreshToken: body.refresh_token, user: body.user }
  wx.setStorageSync(KEY, session)
  return session
}

function clear() {
  wx.removeStorageSync(KEY)
}

function hasRole(role) {
  const session = get()
  return Boolean(session && session.user && (session.user.roles || []).indexOf(role) >= 0)
}

module.exports = { get, save, clear, hasRole }
