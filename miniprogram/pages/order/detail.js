// One order (also the order-centre path the backend registers: pages/order/detail?id=): status, the
// unpaid countdown and 去支付, lines with shipping and tracking, the pickup code, events, receipt, refunds.
const api = require('../../utils/request')
const format = require('../../utils/format')
const pay = require('../../utils/pay')
const subscribe = require('../../utils/subscribe')

const EVENT_TEXT = {
  pending_payment: '下单',
  paid: '付款成功',
  shipped: '已发货',
  completed: '已确认收货',
  cancelled: '订单取消',
  refunding: '申请退款',
  refunded: '退款到账',
}

Component({
  data: { order: null, statusText: '', total: '', countdown: '', lines: [], events: [], pickup: null, pickupImage: '', canConfirm: false, canCancel: false },
  lifetimes: {
    detached() {
      clearInterval(this.timer)
    },
  },
  methods: {
    async onLoad(query) {
      this.orderId = Number(query.id)
      await this.load()
    },
    async load() {
      const [order, events] = await Promise.all([
        api.get(`/orders/${this.orderId}`),
        api.get(`/orders/${this.orderId}/events`, { quiet: true }).catch(() => ({ items: [] })),
      ])
      const lines = order.lines.map((line) => ({
        ...line,
        amount: format.yuan(line.amount_fen),
        statusText: format.orderStatus(line.status),
        canRefund: ['paid', 'shipped', 'completed'].indexOf(line.status) >= 0,
        window: line.ships_from ? `${format.day(line.ships_from)} 至 ${format.day(line.ships_until)}` : '',
      }))
      const eventItems = (events.items || events).map((event) => ({
        text: EVENT_TEXT[event.to_status] || event.to_status,
        time: format.dateTime(event.created_at),
        reason: event.reason || '',
      }))
      this.setData({
        order,
        statusText: format.orderStatus(order.status),
        total: format.yuan(order.total_fen),
        lines,
        events: eventItems,
        pickup: order.pickup,
        canConfirm: order.status === 'shipped' && !order.pickup,
        // a pre-sale that is late may be cancelled: the backend decides, the button asks it
        canCancel: order.status === 'pending_payment' || lines.some((line) => line.presale_id && line.status === 'paid'),
      })
      this.tick()
      if (order.pickup && order.pickup.code) this.loadPickupImage()
    },
    tick() {
      clearInterval(this.timer)
      if (this.data.order.status !== 'pending_payment') return this.setData({ countdown: '' })
      const update = () => this.setData({ countdown: format.countdown(this.data.order.expires_at) })
      update()
      this.timer = setInterval(update, 1000)
    },
    loadPickupImage() {
      const session = require('../../utils/session').get()
      const config = require('../../config/index')
      wx.downloadFile({
        url: `${config.apiBase}/orders/${this.orderId}/pickup-code.png`,
        header: { Authorization: 'Bearer ' + session.token },
        success: (res) => {
          if (res.statusCode === 200) this.setData({ pickupImage: res.tempFilePath })
        },
      })
    },
    async payAgain() {
      const paid = await pay.payOrder(this.orderId).catch((err) => {
        api.showError(err)
        return false
      })
      if (paid) wx.showToast({ title: '支付成功', icon: 'success' })
      await this.load()
    },
    async cancel() {
      const answer = await new Promise((resolve) =>
        wx.showModal({ title: '取消订单', content: '确定要取消这个订单吗？已付款的会原路退回。', confirmText: '确定取消', cancelText: '再想想', success: resolve }),
      )
      if (!answer.confirm) return
      await api.post(`/orders/${this.orderId}/cancel`)
      await this.load()
    },
    async confirmReceipt() {
      const answer = await new Promise((resolve) =>
        wx.showModal({ title: '确认收货', content: '请确认已经收到货物，确认后货款将结算给乡亲。', confirmText: '确认收货', cancelText: '还没收到', success: resolve }),
      )
      if (!answer.confirm) return
      await api.post(`/orders/${this.orderId}/confirm-receipt`)
      wx.showToast({ title: '已确认收货', icon: 'success' })
      await this.load()
    },
    async refund(event) {
      await subscribe.ask(['refund_result'])
      wx.navigateTo({ url: `/pages/order/refund?order_id=${this.orderId}&line_id=${event.currentTarget.dataset.line}` })
    },
  },
})
