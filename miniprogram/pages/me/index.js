// Me: one-tap WeChat login, my orders by status, the villager's entrance, customer service, privacy.
const api = require('../../utils/request')
const session = require('../../utils/session')
const subscribe = require('../../utils/subscribe')

Component({
  data: { loggedIn: false, isSeller: false, servicePhone: '' },
  methods: {
    async onShow() {
      this.refresh()
      const config = await subscribe.clientConfig()
      this.setData({ servicePhone: (config && config.service_phone) || '' })
    },
    refresh() {
      this.setData({ loggedIn: Boolean(session.get()), isSeller: session.hasRole('seller') })
    },
    async login() {
      await api.login().catch((err) => api.showError(err))
      this.refresh()
    },
    openOrders(event) {
      const status = event.currentTarget.dataset.status || ''
      wx.navigateTo({ url: `/pages/order/list?status=${status}` })
    },
    openSeller() {
      wx.navigateTo({ url: this.data.isSeller ? '/pages/seller/index' : '/pages/seller/bind' })
    },
    call() {
      if (this.data.servicePhone) wx.makePhoneCall({ phoneNumber: this.data.servicePhone })
    },
    openPrivacy() {
      wx.openPrivacyContract({})
    },
  },
})
