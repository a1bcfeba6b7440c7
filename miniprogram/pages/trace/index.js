// A 合格证 label's trace code: where and when it was picked, the producer's commitments, whom it helped.
const api = require('../../utils/request')
const format = require('../../utils/format')

const COMMITMENTS = {
  no_banned_substances: '不使用禁用农药兽药、停用兽药和非法添加物',
  withdrawal_periods_observed: '常规农药兽药残留不超标（遵守安全间隔期、休药期）',
  residues_within_limits: '农药兽药残留符合食品安全国家标准',
  no_illegal_additives: '不含非法添加物',
}
const BASIS = { quality_control: '自我质量控制', self_test: '自行检测', commissioned_test: '委托检测', inside_test: '内部质量控制' }
const BENEFICIARY = { tuopin: '脱贫户', monitored: '防止返贫监测对象', ordinary: '农户' }

// The label's QR is an ordinary link (…/t/<code>); WeChat hands it to this page as `q`.
function codeOf(query) {
  if (query.code) return query.code
  if (query.q) return decodeURIComponent(query.q).split('/t/').pop().split(/[?#]/)[0]
  return ''
}

Component({
  data: { trace: null, harvested: '', commitments: [], basis: '', helped: '', share: '' },
  methods: {
    async onLoad(query) {
      const trace = await api.get(`/trace/${encodeURIComponent(codeOf(query))}`, { auth: 'none' })
      const certificate = (trace.batch && trace.batch.certificate) || {}
      const beneficiary = trace.beneficiary || {}
      this.setData({
        trace,
        harvested: format.day(trace.batch && trace.batch.harvested_on),
        commitments: (certificate.commitments || []).map((key) => COMMITMENTS[key] || key),
        basis: BASIS[certificate.basis] || certificate.basis || '',
        helped: beneficiary.category ? `${BENEFICIARY[beneficiary.category] || ''}${beneficiary.name_masked ? ' ' + beneficiary.name_masked : ''}` : '',
        share: beneficiary.share_bps ? `${(beneficiary.share_bps / 100).toFixed(0)}%` : '',
      })
    },
    openProduct() {
      wx.navigateTo({ url: `/pages/product/detail?id=${this.data.trace.product.id}` })
    },
  },
})
