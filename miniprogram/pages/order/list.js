// The buyer's orders by status.
const api = require('../../utils/request')
const format = require('../../utils/format')

const TABS = [
  { key: '', name: '全部' },
  { key: 'pending_payment', name: '待付款' },
  { key: 'paid', name: '待发货' },
  { key: 'shipped', name: '待收货' },
  { key: 'refunding', name: '售后' },
]

Component({
  data: { tabs: TABS, status: '', orders: [], loaded: false },
  methods: {
    async onLoad(query) {
      this.setData({ status: (query && query.status) || '' })
    },
    onShow() {
      return this.load()
    },
    async load() {
      const filter = this.data.status ? `&status=${this.data.status}` : ''
      const page = await api.get(`/orders?per_page=50${filter}`)
      this.setData({
        loaded: true,
        orders: page.items.map((order) => ({
          id: order.id,
          statusText: format.orderStatus(order.status),
          total: format.yuan(order.total_fen),
          created: format.dateTime(order.created_at),
          title: order.lines.map((line) => `${line.product_title}（${line.sku_name}）×${line.quantity}`).join('；'),
        })),
      })
    },
    async chooseTab(event) {
      this.setData({ status: event.currentTarget.dataset.key })
      await this.load()
    },
    open(event) {
      wx.navigateTo({ url: `/pages/order/detail?id=${event.currentTarget.dataset.id}` })
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
  },
})
