const backend = require('./backend')

module.exports = async () => {
  // MINIPROGRAM_BACKEND_DEV: the JSON of a backend already running (while writing a journey); never in CI.
  const state = process.env.MINIPROGRAM_BACKEND_DEV ? JSON.parse(process.env.MINIPROGRAM_BACKEND_DEV) : await backend.start()
  process.env.MINIPROGRAM_BACKEND = JSON.stringify(state) // read by the shim in each test file
}
