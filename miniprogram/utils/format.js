// Display helpers: fen → ¥, times in Asia/Shanghai (UTC+8, no daylight saving), masking.
function yuan(fen) {
  if (fen === null || fen === undefined) return ''
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const cents = String(abs % 100).padStart(2, '0')
  return sign + '¥' + whole + '.' + cents
}

function shanghai(iso) {
  const date = new Date(iso)
  return new Date(date.getTime() + 8 * 3600 * 1000) // read with getUTC*: the wall clock in 北京时间
}

function dateTime(iso) {
  if (!iso) return ''
  const d = shanghai(iso)
  const pad = (n) => String(n).padStart(2, '0')
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

function day(isoDate) {
  if (!isoDate) return ''
  const [y, m, d] = isoDate.slice(0, 10).split('-').map(Number)
  return `${y}年${m}月${d}日`
}

function countdown(iso, now = Date.now()) {
  const left = Math.max(0, Math.floor((new Date(iso).getTime() - now) / 1000))
  const h = Math.floor(left / 3600)
  const m = Math.floor((left % 3600) / 60)
  const s = left % 60
  if (left === 0) return ''
  return h > 0 ? `${h}小时${m}分` : `${m}分${String(s).padStart(2, '0')}秒`
}

function maskPhone(phone) {
  if (!phone || phone.length < 8) return phone || ''
  return phone.slice(0, 3) + '****' + phone.slice(-4)
}

const ORDER_STATUS = {
  pending_payment: '待付款',
  paid: '待发货',
  shipped: '已发货',
  completed: '已完成',
  cancelled: '已取消',
  refunding: '退款中',
  refunded: '已退款',
}

function orderStatus(status) {
  return ORDER_STATUS[status] || status
}

module.exports = { yuan, dateTime, day, countdown, maskPhone, orderStatus, ORDER_STATUS }
