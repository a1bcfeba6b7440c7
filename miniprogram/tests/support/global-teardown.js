const fs = require('fs')
const path = require('path')
const backend = require('./backend')

// After a full run (no file or name filter), every page in app.json must have been opened by a journey.
function checkEveryPageReached(globalConfig) {
  const state = JSON.parse(process.env.MINIPROGRAM_BACKEND || '{}')
  const filtered = globalConfig.testPathPattern || globalConfig.testNamePattern || (globalConfig.nonFlagArgs || []).length
  if (filtered || !state.dir) return
  const visitedFile = path.join(state.dir, 'visited-pages.txt')
  const visited = new Set(fs.existsSync(visitedFile) ? fs.readFileSync(visitedFile, 'utf8').split('\n') : [])
  const pages = JSON.parse(fs.readFileSync(path.join(__dirname, '../../app.json'), 'utf8')).pages
  const missing = pages.filter((page) => !visited.has(page))
  if (missing.length) throw new Error(`pages in app.json that no journey opened: ${missing.join(', ')}`)
  console.log(`\nevery page in app.json was opened by a journey (${pages.length} pages)`)
}

module.exports = async (globalConfig) => {
  try {
    checkEveryPageReached(globalConfig)
  } finally {
    if (!process.env.MINIPROGRAM_BACKEND_DEV) backend.stop()
  }
}
