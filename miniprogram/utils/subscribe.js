// Subscribe messages, asked for at the moment they matter, with the template ids the backend publishes.
const api = require('./request')

let cached = null

function clientConfig() {
  if (!cached) cached = api.get('/client-config', { auth: 'none', quiet: true }).catch(() => null)
  return cached
}

// topics: keys of subscribe_templates (order_shipped, pickup_ready, refund_result, group_result, presale_due)
async function ask(topics) {
  const config = await clientConfig()
  const ids = topics.map((topic) => config && config.subscribe_templates[topic]).filter(Boolean)
  if (!ids.length) return {}
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({ tmplIds: ids, success: resolve, fail: () => resolve({}) })
  })
}

module.exports = { ask, clientConfig }
