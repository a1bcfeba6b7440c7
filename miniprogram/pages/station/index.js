// A village service station (its poster code opens this page with `scene` = the station id): its goods.
const api = require('../../utils/request')

Component({
  data: { station: null, products: [], loaded: false },
  methods: {
    async onLoad(query) {
      const scene = query.scene ? decodeURIComponent(query.scene) : String(query.id)
      const station = await api.get(`/scenes/${encodeURIComponent(scene)}`, { auth: 'none' })
      if (station.kind !== 'station') return
      const page = await api.get(`/products?station=${station.id}&per_page=50`, { auth: 'none' })
      this.setData({ station, products: page.items, loaded: true })
      wx.setNavigationBarTitle({ title: station.name })
    },
    onShareAppMessage() {
      const station = this.data.station || {}
      return { title: `${station.name}的农产品`, path: `/pages/station/index?id=${station.id}` }
    },
  },
})
