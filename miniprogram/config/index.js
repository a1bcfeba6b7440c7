// The one place the backend's address is set. Release builds must use HTTPS (WeChat refuses plain HTTP);
// the tests point it at the backend they start (globalThis.__MINIPROGRAM_API_BASE__).
const RELEASE_BASE = 'https://api.example.cn/api/v1'

module.exports = {
  apiBase: (typeof globalThis !== 'undefined' && globalThis.__MINIPROGRAM_API_BASE__) || RELEASE_BASE,
  version: '1.0.0',
  requestTimeoutMs: 15000,
}
