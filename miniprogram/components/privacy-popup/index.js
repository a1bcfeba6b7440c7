// 隐私保护指引: shown before a private API (address, phone number, photos) when WeChat says consent is missing.
Component({
  data: { visible: false },
  lifetimes: {
    attached() {
      if (!wx.getPrivacySetting) return
      wx.getPrivacySetting({
        success: (res) => this.setData({ visible: Boolean(res.needAuthorization) }),
      })
    },
  },
  methods: {
    show() {
      this.setData({ visible: true })
    },
    openGuide() {
      wx.openPrivacyContract({})
    },
    onAgree() {
      this.setData({ visible: false })
      const app = getApp()
      if (app && app.globalData.privacyResolve) {
        app.globalData.privacyResolve({ buttonId: 'agree-privacy', event: 'agree' })
        app.globalData.privacyResolve = null
      }
      this.triggerEvent('agreed')
    },
    onDecline() {
      this.setData({ visible: false })
      const app = getApp()
      if (app && app.globalData.privacyResolve) {
        app.globalData.privacyResolve({ event: 'disagree' })
        app.globalData.privacyResolve = null
      }
    },
  },
})
