// One product in a list: photo, title, village, price, 消费帮扶 mark.
const format = require('../../utils/format')

Component({
  properties: { product: { type: Object, value: {} } },
  data: { price: '' },
  observers: {
    product(product) {
      this.setData({ price: format.yuan(product && product.price_fen) })
    },
  },
  methods: {
    open() {
      wx.navigateTo({ url: `/pages/product/detail?id=${this.data.product.id}` })
    },
  },
})
