// The buyer's address from WeChat's own address book (wx.chooseAddress, declared in requiredPrivateInfos).
// region_code: the backend wants an administrative code; WeChat gives nationalCode (6 digits, county level).
function choose() {
  return new Promise((resolve, reject) => {
    wx.chooseAddress({
      success: (res) =>
        resolve({
          name: res.userName,
          phone: res.telNumber,
          region_code: res.nationalCode,
          detail: `${res.provinceName}${res.cityName}${res.countyName}${res.detailInfo}`,
        }),
      fail: (err) => reject(err),
    })
  })
}

module.exports = { choose }
