// Ask for a refund of one order line with a reason; the station or the county decides, the money goes
// back the way it was paid.
const api = require('../../utils/request')
const format = require('../../utils/format')

const REASONS = ['货物破损', '与描述不符', '少发漏发', '不想要了', '其他']

Component({
  data: { line: null, amount: '', reasons: REASONS, reason: '', note: '', sent: false, refundId: null },
  methods: {
    async onLoad(query) {
      this.orderId = Number(query.order_id)
      this.lineId = Number(query.line_id)
      const order = await api.get(`/orders/${this.orderId}`)
      const line = order.lines.find((l) => l.id === this.lineId)
      this.setData({ line, amount: format.yuan(line.amount_fen) })
    },
    chooseReason(event) {
      this.setData({ reason: event.currentTarget.dataset.reason })
    },
    onNote(event) {
      this.setData({ note: event.detail.value })
    },
    async submit() {
      if (!this.data.reason) {
        wx.showModal({ title: '提示', content: '请选择退款原因', showCancel: false, confirmText: '知道了' })
        return
      }
      const reason = this.data.note.trim() ? `${this.data.reason}：${this.data.note.trim()}` : this.data.reason
      const refund = await api.post('/refunds', { order_id: this.orderId, line_ids: [this.lineId], reason })
      this.setData({ sent: true, refundId: refund.id })
      wx.showToast({ title: '已提交', icon: 'success' })
    },
    back() {
      wx.redirectTo({ url: `/pages/order/detail?id=${this.orderId}` })
    },
  },
})
