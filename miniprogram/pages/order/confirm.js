// Confirm an order: the goods, delivery to an address (wx.chooseAddress) or pickup at a station, then pay.
const api = require('../../utils/request')
const format = require('../../utils/format')
const addressBook = require('../../utils/address')
const pay = require('../../utils/pay')
const subscribe = require('../../utils/subscribe')

Component({
  data: {
    lines: [],
    total: '',
    mode: 'delivery',
    address: null,
    stationId: null,
    stationName: '',
    contactName: '',
    phoneMasked: '',
    offerId: null,
    submitting: false,
  },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      if (this.query.from === 'cart') {
        const cart = await api.get('/cart')
        const lines = cart.items.filter((item) => item.available)
        this.setLines(lines, cart.total_fen)
      } else if (this.query.offer_id) {
        this.setData({ offerId: Number(this.query.offer_id) })
        const quantity = Number(this.query.quantity || 1)
        this.setLines([{ title: '拼团商品', sku_name: '拼团价', quantity, price_fen: null, station_id: null }], null)
      } else {
        const quantity = Number(this.query.quantity || 1)
        const skuId = Number(this.query.sku_id)
        const product = await this.productOfSku(skuId)
        const sku = product.skus.find((s) => s.id === skuId)
        this.setLines([{ sku_id: skuId, quantity, title: product.title, sku_name: sku.name, price_fen: sku.price_fen, station_id: product.station.id, station_name: product.station.name }], null)
      }
    },
    productOfSku() {
      return api.get(`/products/${Number(this.query.product_id)}`, { auth: 'none' })
    },
    setLines(lines, totalFen) {
      const first = lines[0] || {}
      this.items = lines.filter((line) => line.sku_id).map((line) => ({ sku_id: line.sku_id, quantity: line.quantity }))
      this.setData({
        lines: lines.map((line) => ({ ...line, priceText: line.price_fen ? format.yuan(line.price_fen) : '' })),
        total: totalFen === null ? '' : format.yuan(totalFen),
        stationId: first.station_id,
        stationName: first.station_name || '',
      })
    },
    chooseDelivery() {
      this.setData({ mode: 'delivery' })
    },
    choosePickup() {
      this.setData({ mode: 'pickup' })
    },
    async chooseAddress() {
      try {
        this.setData({ address: await addressBook.choose() })
      } catch (err) {
        // closed without choosing: nothing changes
      }
    },
    onContactName(event) {
      this.setData({ contactName: event.detail.value })
    },
    async onPhoneNumber(event) {
      if (!event.detail.code) return // declined
      const confirmed = await api.post('/auth/phone', { code: event.detail.code })
      this.setData({ phoneMasked: confirmed.phone_masked })
    },
    body() {
      if (this.data.mode === 'pickup') {
        return { pickup_station_id: this.data.stationId, contact: { name: this.data.contactName.trim() } }
      }
      return { address: this.data.address }
    },
    async submit() {
      if (this.data.submitting) return
      if (this.data.mode === 'delivery' && !this.data.address) {
        wx.showModal({ title: '提示', content: '请先选择收货地址', showCancel: false, confirmText: '知道了' })
        return
      }
      if (this.data.mode === 'pickup' && (!this.data.contactName.trim() || !this.data.phoneMasked)) {
        wx.showModal({ title: '提示', content: '到站自提请填写取货人姓名并获取手机号', showCancel: false, confirmText: '知道了' })
        return
      }
      this.setData({ submitting: true })
      try {
        await subscribe.ask(this.data.mode === 'pickup' ? ['pickup_ready', 'refund_result'] : ['order_shipped', 'refund_result'])
        let orderId
        let groupId = null
        if (this.data.offerId) {
          const member = await api.post('/groups', { offer_id: this.data.offerId, quantity: this.data.lines[0].quantity, ...this.body() })
          orderId = member.order.id
          groupId = member.group.id
        } else {
          const order = await api.post('/orders', { items: this.items, ...this.body() })
          orderId = order.id
        }
        const paid = await pay.payOrder(orderId).catch((err) => {
          api.showError(err)
          return false
        })
        const url = groupId && paid ? `/pages/group/detail?id=${groupId}` : `/pages/order/detail?id=${orderId}`
        wx.redirectTo({ url })
      } catch (err) {
        // shown by the request module
      } finally {
        this.setData({ submitting: false })
      }
    },
  },
})
