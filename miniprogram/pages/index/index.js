// Home: search, the 消费帮扶 channel, categories, the feed. A code's `scene` opening this page is resolved here.
const api = require('../../utils/request')

Component({
  data: { products: [], categories: [], keyword: '', loading: true, officeName: '' },
  methods: {
    async onLoad(query) {
      if (query && query.scene) {
        const opened = await this.openScene(decodeURIComponent(query.scene))
        if (opened) return
      }
      await this.load()
    },
    async openScene(scene) {
      try {
        const target = await api.get(`/scenes/${encodeURIComponent(scene)}`, { auth: 'none' })
        const urls = {
          station: `/pages/station/index?id=${target.id}`,
          product: `/pages/product/detail?id=${target.id}`,
          group: `/pages/group/detail?id=${target.id}`,
          trace: `/pages/trace/index?code=${target.code}`,
        }
        wx.redirectTo({ url: urls[target.kind] })
        return true
      } catch (err) {
        return false // the error was shown; the home page stays
      }
    },
    async load() {
      this.setData({ loading: true })
      try {
        const [feed, categories, config] = await Promise.all([
          api.get('/products?per_page=20', { auth: 'none' }),
          api.get('/categories', { auth: 'none' }),
          api.get('/client-config', { auth: 'none', quiet: true }).catch(() => null),
        ])
        this.setData({
          products: feed.items,
          categories: categories.items.slice(0, 8),
          officeName: config ? config.office_name : '',
        })
      } finally {
        this.setData({ loading: false })
      }
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    onKeyword(event) {
      this.setData({ keyword: event.detail.value })
    },
    search() {
      const q = this.data.keyword.trim()
      if (!q) return
      wx.navigateTo({ url: `/pages/search/index?q=${encodeURIComponent(q)}` })
    },
    openChannel() {
      wx.navigateTo({ url: '/pages/search/index?poverty=1' })
    },
    openCategory(event) {
      const { slug, name } = event.currentTarget.dataset
      wx.navigateTo({ url: `/pages/search/index?category=${slug}&name=${encodeURIComponent(name)}` })
    },
    onShareAppMessage() {
      return { title: '株洲乡村好物 · 买农产品，帮乡亲增收', path: '/pages/index/index' }
    },
  },
})
