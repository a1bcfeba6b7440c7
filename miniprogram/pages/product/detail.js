// A product: photos, sizes, village and station, 消费帮扶 certification, pre-sale window, group offers.
const api = require('../../utils/request')
const format = require('../../utils/format')

Component({
  data: {
    product: null,
    images: [],
    skus: [],
    selected: 0,
    quantity: 1,
    price: '',
    presales: [],
    offers: [],
    certification: null,
    message: '',
  },
  methods: {
    async onLoad(query) {
      let id = query && query.id
      if (!id && query && query.scene) {
        const target = await api.get(`/scenes/${encodeURIComponent(decodeURIComponent(query.scene))}`, { auth: 'none' })
        id = target.id
      }
      this.productId = Number(id)
      await this.load()
    },
    async load() {
      const id = this.productId
      const [product, presales, offers] = await Promise.all([
        api.get(`/products/${id}`, { auth: 'none' }),
        api.get(`/products/${id}/presales`, { auth: 'none', quiet: true }).catch(() => []),
        api.get(`/products/${id}/group-offers`, { auth: 'none', quiet: true }).catch(() => []),
      ])
      const skus = product.skus.map((sku) => ({ ...sku, priceText: format.yuan(sku.price_fen) }))
      this.setData({
        product,
        images: product.images.length ? product.images.map((image) => image.url) : [product.cover_image_url].filter(Boolean),
        skus,
        selected: 0,
        price: skus.length ? skus[0].priceText : '',
        certification: product.certification,
        presales: presales.map((presale) => ({
          ...presale,
          window: `${format.day(presale.ships_from)} 至 ${format.day(presale.ships_until)}`,
        })),
        offers: offers
          .filter((offer) => offer.is_active)
          .map((offer) => ({ ...offer, priceText: format.yuan(offer.price_fen), regularText: format.yuan(offer.regular_price_fen) })),
      })
      wx.setNavigationBarTitle({ title: product.title })
    },
    chooseSku(event) {
      const index = Number(event.currentTarget.dataset.index)
      this.setData({ selected: index, price: this.data.skus[index].priceText, quantity: 1 })
    },
    more() {
      if (this.data.quantity < 99) this.setData({ quantity: this.data.quantity + 1 })
    },
    less() {
      if (this.data.quantity > 1) this.setData({ quantity: this.data.quantity - 1 })
    },
    async addToCart() {
      const sku = this.data.skus[this.data.selected]
      await api.put(`/cart/items/${sku.id}`, { quantity: this.data.quantity })
      this.setData({ message: `已加入购物车：${sku.name} × ${this.data.quantity}` })
      wx.showToast({ title: '已加入购物车', icon: 'success' })
    },
    buyNow() {
      const sku = this.data.skus[this.data.selected]
      wx.navigateTo({ url: `/pages/order/confirm?product_id=${this.productId}&sku_id=${sku.id}&quantity=${this.data.quantity}` })
    },
    startGroup(event) {
      const offerId = event.currentTarget.dataset.offer
      wx.navigateTo({ url: `/pages/order/confirm?offer_id=${offerId}&quantity=1` })
    },
    openStation() {
      wx.navigateTo({ url: `/pages/station/index?id=${this.data.product.station.id}` })
    },
    goCart() {
      wx.switchTab({ url: '/pages/cart/index' })
    },
    onShareAppMessage() {
      const product = this.data.product || {}
      return { title: product.title, path: `/pages/product/detail?id=${product.id}` }
    },
  },
})
