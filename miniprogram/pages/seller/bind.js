// The villager enters the 6-digit code the station gave her on paper; from then on she is a seller.
const api = require('../../utils/request')

Component({
  data: { code: '', error: '' },
  methods: {
    onCode(event) {
      this.setData({ code: event.detail.value.replace(/\D/g, '').slice(0, 6), error: '' })
    },
    async bind() {
      if (this.data.code.length !== 6) {
        this.setData({ error: '绑定码是6位数字，请对照服务站给您的纸条' })
        return
      }
      try {
        await api.post('/sellers/bind', { bind_code: this.data.code }, { quiet: true })
      } catch (err) {
        this.setData({ error: err.message })
        return
      }
      await api.login() // the new seller role comes with a fresh login
      wx.redirectTo({ url: '/pages/seller/index' })
    },
  },
})
