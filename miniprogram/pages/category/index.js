// All categories, large buttons; a tap opens that category's products.
const api = require('../../utils/request')

Component({
  data: { categories: [] },
  methods: {
    async onLoad() {
      const page = await api.get('/categories', { auth: 'none' })
      this.setData({ categories: page.items })
    },
    open(event) {
      const { slug, name } = event.currentTarget.dataset
      wx.navigateTo({ url: `/pages/search/index?category=${slug}&name=${encodeURIComponent(name)}` })
    },
  },
})
