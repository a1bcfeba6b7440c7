// The cart, kept on the server: today's prices, items that cannot be ordered marked with the reason.
const api = require('../../utils/request')
const format = require('../../utils/format')

Component({
  data: { items: [], total: '', orderable: 0, loaded: false },
  methods: {
    onShow() {
      return this.load()
    },
    async load() {
      this.show(await api.get('/cart'))
    },
    show(cart) {
      const items = cart.items.map((item) => ({ ...item, priceText: format.yuan(item.price_fen) }))
      this.setData({
        items,
        total: format.yuan(cart.total_fen),
        orderable: items.filter((item) => item.available).length,
        loaded: true,
      })
    },
    async change(event) {
      const { sku, quantity } = event.currentTarget.dataset
      this.show(await api.put(`/cart/items/${sku}`, { quantity: Number(quantity) }))
    },
    async remove(event) {
      this.show(await api.del(`/cart/items/${event.currentTarget.dataset.sku}`))
    },
    checkout() {
      if (!this.data.orderable) return
      wx.navigateTo({ url: '/pages/order/confirm?from=cart' })
    },
    goShopping() {
      wx.switchTab({ url: '/pages/index/index' })
    },
  },
})
