// Starts the real backend for the journeys: the gateway sandbox, then gunicorn on a migrated,
// demo-seeded SQLite database (PAYMENT_SANDBOX=1, every gateway URL pointing at the sandbox).
const { spawn, spawnSync } = require('child_process')
const fs = require('fs')
const http = require('http')
const net = require('net')
const os = require('os')
const path = require('path')

const REPO = path.resolve(__dirname, '../../..')
const STATE_FILE = path.join(os.tmpdir(), `miniprogram-backend-${process.ppid}-${process.pid}.json`)

function python() {
  return process.env.BACKEND_PYTHON || path.join(REPO, '.venv/bin/python')
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

function answers(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume()
      resolve(res.statusCode < 500)
    })
    req.on('error', () => resolve(false))
    req.setTimeout(2000, () => {
      req.destroy()
      resolve(false)
    })
  })
}

async function waitFor(url, child, seconds, logFile) {
  const until = Date.now() + seconds * 1000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode}); see ${logFile}`)
    if (await answers(url)) return
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error(`${url} did not answer within ${seconds} s; see ${logFile}`)
}

function run(args, env, logFile) {
  const result = spawnSync(python(), args, { cwd: REPO, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  fs.appendFileSync(logFile, `$ python ${args.join(' ')}\n${result.stdout}\n${result.stderr}\n`)
  if (result.status !== 0) throw new Error(`python ${args.join(' ')} failed (${result.status}); see ${logFile}`)
}

function startProcess(args, env, logFile) {
  const out = fs.openSync(logFile, 'a')
  return spawn(python(), args, { cwd: REPO, env, stdio: ['ignore', out, out], detached: true })
}

async function startAll() {
  if (!fs.existsSync(python())) throw new Error(`no Python at ${python()}: run \`make install-dev\` first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'miniprogram-backend-'))
  const [sandboxPort, apiPort] = [await freePort(), await freePort()]
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`
  const baseUrl = `http://127.0.0.1:${apiPort}`
  const env = {
    ...process.env,
    FLASK_APP: 'wsgi',
    APP_ENV: 'development',
    PAYMENT_SANDBOX: '1',
    SANDBOX_URL: sandboxUrl,
    PUBLIC_BASE_URL: baseUrl,
    DATABASE_URL: `sqlite:///${path.join(dir, 'app.db')}`,
    UPLOAD_DIR: path.join(dir, 'uploads'),
    SECRET_KEY: require('crypto').randomBytes(32).toString('hex'),
    SERVICE_PHONE: '0731-28880000',
    WECHAT_ORDER_SHIPPED_TEMPLATE_ID: 'tpl_order_shipped_sandbox',
    WECHAT_PICKUP_READY_TEMPLATE_ID: 'tpl_pickup_ready_sandbox',
    WECHAT_REFUND_RESULT_TEMPLATE_ID: 'tpl_refund_result_sandbox',
    WECHAT_GROUP_RESULT_TEMPLATE_ID: 'tpl_group_result_sandbox',
    GUNICORN_CMD_ARGS: '',
  }
  delete env.REDIS_URL
  delete env.CELERY_BROKER_URL
  delete env.TEST_DATABASE_URL
  const log = path.join(dir, 'backend.log')
  const sandbox = startProcess(['-m', 'flask', 'sandbox', 'serve', '--port', String(sandboxPort), '--in-memory'], env, path.join(dir, 'sandbox.log'))
  const state = { dir, sandboxUrl, baseUrl, apiBase: `${baseUrl}/api/v1`, pids: [sandbox.pid] }
  fs.writeFileSync(STATE_FILE, JSON.stringify(state))
  await waitFor(`${sandboxUrl}/sandbox/notifications`, sandbox, 120, path.join(dir, 'sandbox.log'))
  run(['-m', 'flask', 'db', 'upgrade'], env, log)
  run(['-m', 'flask', 'demo', 'seed'], env, log)
  const api = startProcess(['-m', 'gunicorn', '-b', `127.0.0.1:${apiPort}`, '-w', '1', '--threads', '8', '--timeout', '120', 'wsgi:app'], env, log)
  state.pids.push(api.pid)
  fs.writeFileSync(STATE_FILE, JSON.stringify(state))
  await waitFor(`${baseUrl}/healthz`, api, 180, log)
  return state
}

async function start() {
  try {
    return await startAll()
  } catch (err) {
    stop() // Jest skips the teardown when the setup fails
    throw err
  }
}

function stop() {
  if (!fs.existsSync(STATE_FILE)) return
  const state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'))
  for (const pid of state.pids) {
    try {
      process.kill(-pid, 'SIGTERM') // the process group: gunicorn's workers too
    } catch (err) {
      // already gone
    }
  }
  fs.unlinkSync(STATE_FILE)
  fs.rmSync(state.dir, { recursive: true, force: true })
}

module.exports = { start, stop, STATE_FILE }
