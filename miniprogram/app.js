// The mini-program's entry. Login happens on demand (utils/request.js); privacy consent is asked by the
// privacy-popup component on the pages that use a private API, before that API is called.
App({
  globalData: {
    privacyResolve: null,
  },
  onLaunch() {
    if (wx.onNeedPrivacyAuthorization) {
      // WeChat asks before a private API runs while consent is missing: the page's popup answers it.
      wx.onNeedPrivacyAuthorization((resolve) => {
        this.globalData.privacyResolve = resolve
        const pages = getCurrentPages()
        const page = pages[pages.length - 1]
        const popup = page && page.selectComponent && page.selectComponent('#privacy')
        if (popup) popup.show()
      })
    }
  },
})
