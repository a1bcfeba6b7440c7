// A group (the share link): who joined, places and time left; join it, or share it on.
const api = require('../../utils/request')
const format = require('../../utils/format')
const addressBook = require('../../utils/address')
const pay = require('../../utils/pay')
const subscribe = require('../../utils/subscribe')

const STATUS = { opening: '待团长付款', forming: '拼团中', succeeded: '拼团成功', expired: '未成团，已原路退款', cancelled: '团长未付款，已取消' }

Component({
  data: { group: null, statusText: '', price: '', regular: '', timeLeft: '', members: [], canJoin: false },
  lifetimes: {
    detached() {
      clearInterval(this.timer)
    },
  },
  methods: {
    async onLoad(query) {
      let id = query.id
      if (!id && query.scene) id = (await api.get(`/scenes/${encodeURIComponent(decodeURIComponent(query.scene))}`, { auth: 'none' })).id
      this.groupId = Number(id)
      await this.load()
    },
    async load() {
      const group = await api.get(`/groups/${this.groupId}`, { auth: 'none' })
      this.setData({
        group,
        statusText: STATUS[group.status] || group.status,
        price: format.yuan(group.price_fen),
        regular: format.yuan(group.regular_price_fen),
        members: group.members,
        canJoin: group.status === 'forming' && group.places_left > 0,
      })
      this.deadline = group.seconds_left ? Date.now() + group.seconds_left * 1000 : null
      clearInterval(this.timer)
      const update = () => this.setData({ timeLeft: this.deadline ? format.countdown(new Date(this.deadline).toISOString()) : '' })
      update()
      if (this.deadline) this.timer = setInterval(update, 1000)
    },
    async join() {
      let address
      try {
        address = await addressBook.choose()
      } catch (err) {
        return
      }
      await subscribe.ask(['group_result', 'order_shipped'])
      const member = await api.post(`/groups/${this.groupId}/join`, { quantity: 1, address })
      const paid = await pay.payOrder(member.order.id).catch((err) => {
        api.showError(err)
        return false
      })
      if (!paid) {
        wx.redirectTo({ url: `/pages/order/detail?id=${member.order.id}` })
        return
      }
      await this.load()
    },
    openProduct() {
      wx.navigateTo({ url: `/pages/product/detail?id=${this.data.group.product_id}` })
    },
    onShareAppMessage() {
      const group = this.data.group
      return {
        title: `${format.yuan(group.price_fen)}拼${group.product_title}，还差${group.places_left}人`,
        path: `/pages/group/detail?id=${group.id}`,
      }
    },
  },
})
