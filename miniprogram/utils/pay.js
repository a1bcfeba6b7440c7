// Paying an order: open a WeChat Pay payment at the backend, hand its params to wx.requestPayment untouched.
const api = require('./request')

// Resolves true when paid, false when the buyer closed the payment sheet (the order stays pending).
async function payOrder(orderId) {
  const payment = await api.post(`/orders/${orderId}/payments`, { channel: 'wechat_jsapi' })
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      ...payment.params,
      success: () => resolve(true),
      fail: (err) => {
        if (err && /cancel/.test(err.errMsg || '')) resolve(false)
        else reject(new api.ApiError(0, 'payment_failed', '支付没有完成，请稍后在订单里再付'))
      },
    })
  })
}

module.exports = { payOrder }
