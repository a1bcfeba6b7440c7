"""Alipay beyond trades: payout transfers, the daily bill and the mini-program login (oauth token)."""

import logging
from datetime import date

import requests
from alipay.aop.api.domain.AlipayDataDataserviceBillDownloadurlQueryModel import (
    AlipayDataDataserviceBillDownloadurlQueryModel,
)
from alipay.aop.api.domain.AlipayFundTransCommonQueryModel import AlipayFundTransCommonQueryModel
from alipay.aop.api.domain.AlipayFundTransUniTransferModel import AlipayFundTransUniTransferModel
from alipay.aop.api.domain.Participant import Participant
from alipay.aop.api.request.AlipayDataDataserviceBillDownloadurlQueryRequest import (
    AlipayDataDataserviceBillDownloadurlQueryRequest,
)
from alipay.aop.api.request.AlipayFundTransCommonQueryRequest import AlipayFundTransCommonQueryRequest
from alipay.aop.api.request.AlipayFundTransUniTransferRequest import AlipayFundTransUniTransferRequest
from alipay.aop.api.request.AlipaySystemOauthTokenRequest import AlipaySystemOauthTokenRequest
from alipay.aop.api.response.AlipayDataDataserviceBillDownloadurlQueryResponse import (
    AlipayDataDataserviceBillDownloadurlQueryResponse,
)
from alipay.aop.api.response.AlipayFundTransCommonQueryResponse import AlipayFundTransCommonQueryResponse
from alipay.aop.api.response.AlipayFundTransUniTransferResponse import AlipayFundTransUniTransferResponse
from alipay.aop.api.response.AlipaySystemOauthTokenResponse import AlipaySystemOauthTokenResponse

from core.errors import Unauthorized
from payments.money import fen_to_yuan
from payments.providers.alipay_bill import parse_alipay_bill_zip
from payments.providers.base import (
    BillRow,
    PaymentGatewayError,
    PaymentRejected,
    TransferResult,
    TransferStatus,
    check_out_no,
)

log = logging.getLogger(__name__)

TRANSFER_PRODUCT = "TRANS_ACCOUNT_NO_PWD"
TRANSFER_SCENE = "DIRECT_TRANSFER"
_TRANSFER_STATES = {
    "SUCCESS": TransferStatus.SUCCESS,
    "DEALING": TransferStatus.PROCESSING,
    "WAIT_PAY": TransferStatus.PROCESSING,
    "INIT": TransferStatus.PROCESSING,
    "FAIL": TransferStatus.FAILED,
    "REFUND": TransferStatus.FAILED,
    "CLOSED": TransferStatus.FAILED,
}


class AlipayFunds:
    """Mixed into AlipayProvider, which supplies ``client``, ``timeout`` and ``_execute``."""

    def transfer(self, out_biz_no: str, account: str, name: str, amount_fen: int, remark: str) -> TransferResult:
        """alipay.fund.trans.uni.transfer to an Alipay logon id (phone/e-mail); idempotent by out_biz_no."""
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError("amount_fen must be a positive int")
        payee = Participant()
        payee.identity = account
        payee.identity_type = "ALIPAY_LOGON_ID"
        payee.name = name
        model = AlipayFundTransUniTransferModel()
        model.out_biz_no = check_out_no(out_biz_no, "out_biz_no")
        model.trans_amount = fen_to_yuan(amount_fen)
        model.product_code = TRANSFER_PRODUCT
        model.biz_scene = TRANSFER_SCENE
        model.order_title = remark[:32] or "结算"
        model.remark = remark[:200] or None
        model.payee_info = payee
        response, raw = self._execute(
            AlipayFundTransUniTransferRequest(biz_model=model), AlipayFundTransUniTransferResponse()
        )
        if response.code != "10000":
            return TransferResult(
                out_biz_no, TransferStatus.FAILED, reason=f"{response.sub_code}: {response.sub_msg}", raw=raw
            )
        status = _TRANSFER_STATES.get(response.status or "", TransferStatus.PROCESSING)
        return TransferResult(out_biz_no, status, order_id=response.order_id, raw=raw)

    def query_transfer(self, out_biz_no: str) -> TransferResult:
        """alipay.fund.trans.common.query by out_biz_no."""
        model = AlipayFundTransCommonQueryModel()
        model.out_biz_no = check_out_no(out_biz_no, "out_biz_no")
        model.product_code = TRANSFER_PRODUCT
        model.biz_scene = TRANSFER_SCENE
        response, raw = self._execute(
            AlipayFundTransCommonQueryRequest(biz_model=model), AlipayFundTransCommonQueryResponse()
        )
        if response.sub_code == "ORDER_NOT_EXIST":
            return TransferResult(out_biz_no, TransferStatus.NOT_FOUND, raw=raw)
        if response.code != "10000":
            raise PaymentRejected(response.sub_code or "", response.sub_msg or "")
        status = _TRANSFER_STATES.get(response.status or "", TransferStatus.PROCESSING)
        reason = "" if status != TransferStatus.FAILED else f"{response.error_code}: {response.fail_reason}"
        return TransferResult(out_biz_no, status, order_id=response.order_id, reason=reason, raw=raw)

    def download_bill(self, day: date) -> list[BillRow]:
        """alipay.data.dataservice.bill.downloadurl.query (trade) → the zipped CSV → rows."""
        model = AlipayDataDataserviceBillDownloadurlQueryModel()
        model.bill_type = "trade"
        model.bill_date = day.isoformat()
        response, _ = self._execute(
            AlipayDataDataserviceBillDownloadurlQueryRequest(biz_model=model),
            AlipayDataDataserviceBillDownloadurlQueryResponse(),
        )
        if response.sub_code == "isp.bill_not_exist":
            return []
        if response.code != "10000" or not response.bill_download_url:
            raise PaymentRejected(response.sub_code or "", response.sub_msg or "")
        try:
            download = requests.get(response.bill_download_url, timeout=self.timeout)
            download.raise_for_status()
        except requests.RequestException as exc:
            log.warning("alipay bill download failed: %s", type(exc).__name__)
            raise PaymentGatewayError() from exc
        try:
            return parse_alipay_bill_zip(download.content)
        except ValueError as exc:
            raise PaymentGatewayError(details={"gateway_code": "unreadable bill"}) from exc

    def exchange_auth_code(self, auth_code: str) -> dict[str, str | None]:
        """alipay.system.oauth.token: a mini-program auth code → {user_id, open_id, access_token}."""
        call = AlipaySystemOauthTokenRequest()
        call.grant_type = "authorization_code"
        call.code = auth_code
        response, _ = self._execute(call, AlipaySystemOauthTokenResponse())
        if response.sub_code or not (response.user_id or response.open_id):
            raise Unauthorized("支付宝登录凭证无效或已使用，请重新登录")
        return {
            "user_id": response.user_id,
            "open_id": response.open_id,
            "access_token": response.access_token,
        }
