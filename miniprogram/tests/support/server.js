// What the people outside the phone do, over the same HTTP API: the station manager (刘站长, demo
// account liu) registers sellers and ships; the sandbox is asked what it delivered.
const http = require('http')

const backend = global.__backend

function call(method, url, body, token) {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const headers = {}
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length })
    if (token) headers.Authorization = 'Bearer ' + token
    const req = http.request({ method, hostname: target.hostname, port: target.port, path: target.pathname + target.search, headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode, body: /json/.test(res.headers['content-type'] || '') ? JSON.parse(text) : text })
      })
    })
    req.on('error', reject)
    if (payload) req.write(payload)
    req.end()
  })
}

const api = (method, path, body, token) => call(method, backend.apiBase + path, body, token)

async function staffToken(username, password) {
  const res = await api('POST', '/auth/login', { username, password })
  if (res.status !== 200) throw new Error(`staff login ${username}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.token
}

async function manager() {
  const token = await staffToken('liu', 'demo-liu-2026')
  const me = await api('GET', '/me', undefined, token)
  const stationId = me.body.scopes.find((scope) => scope.role === 'station_manager').station_id
  return { token, stationId }
}

async function eventually(check, seconds = 60) {
  const until = Date.now() + seconds * 1000
  let last
  while (Date.now() < until) {
    last = await check()
    if (last) return last
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error('the backend did not reach the expected state in time')
}

module.exports = { api, call, backend, staffToken, manager, eventually }
