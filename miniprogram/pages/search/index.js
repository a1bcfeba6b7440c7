// Search results, one category, or the 消费帮扶 channel (certified products only).
const api = require('../../utils/request')

Component({
  data: { products: [], total: 0, heading: '', keyword: '', loading: true, channel: false },
  methods: {
    async onLoad(query) {
      this.query = query || {}
      const channel = this.query.poverty === '1'
      const heading = channel
        ? '消费帮扶专区'
        : this.query.q
          ? `“${decodeURIComponent(this.query.q)}”的搜索结果`
          : decodeURIComponent(this.query.name || '全部商品')
      this.setData({ heading, channel, keyword: this.query.q ? decodeURIComponent(this.query.q) : '' })
      wx.setNavigationBarTitle({ title: channel ? '消费帮扶' : '商品' })
      await this.load()
    },
    async load() {
      const params = ['per_page=30']
      if (this.query.q) params.push('q=' + encodeURIComponent(decodeURIComponent(this.query.q)))
      if (this.query.category) params.push('category=' + this.query.category)
      if (this.query.poverty === '1') params.push('poverty=true', 'sort=sales')
      this.setData({ loading: true })
      try {
        const page = await api.get('/products?' + params.join('&'), { auth: 'none' })
        this.setData({ products: page.items, total: page.total })
      } finally {
        this.setData({ loading: false })
      }
    },
  },
})
