"""WeChat Pay v2 daily bill (downloadbill, bill_type ALL): the text format and its parser.

The bill is UTF-8 text: a header line of column names, one line per payment or
refund whose fields each start with a backtick (so they are split on ",`",
which keeps commas inside product names intact), then a summary header and a
summary line.
"""

from datetime import datetime

from core.clock import BEIJING
from payments.money import yuan_to_fen
from payments.providers.base import BillRow, TradeStatus

COLUMNS = (
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
)
SUMMARY_COLUMNS = (
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
)


def format_line(values: list[str]) -> str:
    """One backtick-prefixed bill line."""
    return ",".join(f"`{value}" for value in values)


def _fields(line: str) -> list[str]:
    return line[1:].split(",`") if line.startswith("`") else line.split(",")


def parse_wechat_bill(text: str) -> list[BillRow]:
    """Payment (SUCCESS) and refund (REFUND) rows of a bill; other states are skipped."""
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].split(",")
    index = {name: position for position, name in enumerate(header)}
    missing = {"交易时间", "微信订单号", "商户订单号", "交易状态", "应结订单金额", "退款金额"} - index.keys()
    if missing:
        raise ValueError(f"not a WeChat Pay bill: missing columns {sorted(missing)}")
    rows = []
    for line in lines[1:]:
        if line.startswith(SUMMARY_COLUMNS[0]):
            break
        fields = _fields(line)
        if len(fields) < len(header):
            raise ValueError("short bill line")

        def get(name: str, fields: list[str] = fields) -> str:
            return fields[index[name]].strip()

        at = datetime.strptime(get("交易时间"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        state = get("交易状态")
        if state == "SUCCESS":
            rows.append(
                BillRow(
                    out_trade_no=get("商户订单号"),
                    transaction_id=get("微信订单号"),
                    amount_fen=yuan_to_fen(get("应结订单金额")),
                    status=TradeStatus.PAID,
                    refund_fen=0,
                    at=at,
                )
            )
        elif state == "REFUND":
            rows.append(
                BillRow(
                    out_trade_no=get("商户订单号"),
                    transaction_id=get("微信订单号"),
                    amount_fen=0,
                    status=TradeStatus.REFUNDED,
                    refund_fen=yuan_to_fen(get("退款金额")),
                    at=at,
                    out_refund_no=get("商户退款单号") or None,
                )
            )
    return rows
