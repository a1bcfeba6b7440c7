"""Alipay's trade bill: a zip of GBK CSV files; the detail file (业务明细) lists payments and refunds.

The detail CSV opens and closes with ``#`` comment lines (account, period,
totals) around a header line and one line per 交易 (payment) or 退款 (refund,
negative amounts, with the refund's out_request_no).
"""

import csv
import io
import zipfile
from datetime import datetime

from core.clock import BEIJING
from payments.money import yuan_to_fen
from payments.providers.base import BillRow, TradeStatus

DETAIL_SUFFIX = "_业务明细.csv"
SUMMARY_SUFFIX = "_业务明细(汇总).csv"
DETAIL_COLUMNS = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
)


def member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names are GBK unless the UTF-8 flag is set; zipfile decodes them as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def parse_alipay_bill_zip(content: bytes) -> list[BillRow]:
    """The payment and refund rows of a downloaded bill archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ValueError("the bill is not a zip archive") from exc
    with archive:
        details = [info for info in archive.infolist() if member_name(info).endswith(DETAIL_SUFFIX)]
        if len(details) != 1:
            raise ValueError("the bill has no single detail file")
        text = archive.read(details[0]).decode("gbk")
    return parse_alipay_detail_csv(text)


def parse_alipay_detail_csv(text: str) -> list[BillRow]:
    """Rows between the header and the closing comment lines."""
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        return []
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader)]
    index = {name: position for position, name in enumerate(header)}
    missing = {
        "支付宝交易号",
        "商户订单号",
        "业务类型",
        "完成时间",
        "订单金额（元）",
        "退款批次号/请求号",
    } - index.keys()
    if missing:
        raise ValueError(f"not an Alipay detail bill: missing columns {sorted(missing)}")
    rows = []
    for fields in reader:
        values = [value.strip() for value in fields]

        def get(name: str, values: list[str] = values) -> str:
            return values[index[name]]

        at = datetime.strptime(get("完成时间"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        amount = yuan_to_fen(get("订单金额（元）"), allow_negative=True)
        if get("业务类型") == "交易":
            rows.append(BillRow(get("商户订单号"), get("支付宝交易号"), amount, TradeStatus.PAID, 0, at))
        elif get("业务类型") == "退款":
            rows.append(
                BillRow(
                    get("商户订单号"),
                    get("支付宝交易号"),
                    0,
                    TradeStatus.REFUNDED,
                    -amount,
                    at,
                    out_refund_no=get("退款批次号/请求号") or None,
                )
            )
    return rows
