// The villager's page: her goods, what sold this month, money in the hold period and available, each
// payout with its date, and whether her name may appear (as 李**) on trace labels.
const api = require('../../utils/request')
const format = require('../../utils/format')

const PRODUCT_STATUS = { on_sale: '在卖', pending_review: '审核中', rejected: '没通过', off_shelf: '已下架' }
const PAYOUT_STATUS = { pending: '处理中', processing: '处理中', succeeded: '已到账', success: '已到账', paid: '已到账', failed: '没成功' }

Component({
  data: { page: null, name: '', products: [], sales: null, pending: '', available: '', paidOut: '', payouts: [], consent: false },
  methods: {
    onLoad() {
      return this.load()
    },
    async load() {
      const page = await api.get('/sellers/me')
      this.setData({
        page,
        name: page.seller.name,
        station: page.station ? page.station.name : '',
        consent: page.seller.show_name_on_trace,
        products: page.products.map((product) => ({
          ...product,
          statusText: PRODUCT_STATUS[product.status] || product.status,
          price: format.yuan(product.price_fen),
        })),
        sales: { ...page.sales_this_month, amount: format.yuan(page.sales_this_month.gmv_fen) },
        pending: format.yuan(page.balances.pending_fen),
        available: format.yuan(page.balances.available_fen),
        paidOut: format.yuan(page.balances.paid_out_fen),
        payouts: page.payouts.map((payout) => ({
          ...payout,
          amount: format.yuan(payout.amount_fen),
          date: format.dateTime(payout.completed_at || payout.created_at),
          statusText: PAYOUT_STATUS[payout.status] || payout.status,
        })),
      })
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async toggleConsent() {
      const next = !this.data.consent
      const seller = await api.put('/sellers/me/name-consent', { show_name_on_trace: next })
      this.setData({ consent: seller.show_name_on_trace })
    },
  },
})
