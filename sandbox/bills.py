"""Daily bills built from the simulator's state, in each gateway's file format."""

import csv
import io
import zipfile
from datetime import date, datetime, time, timedelta

from core.clock import BEIJING, beijing_now
from payments.money import fen_to_yuan
from payments.providers.alipay_bill import DETAIL_COLUMNS, DETAIL_SUFFIX, SUMMARY_SUFFIX
from payments.providers.wechat_bill import COLUMNS, SUMMARY_COLUMNS, format_line

ZERO = "0.00"


def _fee(fen: int) -> int:
    """The 0.6% channel fee, rounded half up to the fen."""
    return (fen * 6 + 500) // 1000


def _on(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(BEIJING).date() == day


def _row(columns: tuple[str, ...], values: dict[str, object]) -> list[str]:
    return [str(values.get(column, "")) for column in columns]


def _wechat_payment_row(settings, trade) -> list[str]:
    amount = fen_to_yuan(trade.total_fee)
    return _row(
        COLUMNS,
        {
            "交易时间": trade.time_end.strftime("%Y-%m-%d %H:%M:%S"),
            "公众账号ID": settings.wechat_appid,
            "商户号": settings.mch_id,
            "特约商户号": "0",
            "微信订单号": trade.transaction_id,
            "商户订单号": trade.out_trade_no,
            "用户标识": trade.openid,
            "交易类型": trade.trade_type,
            "交易状态": "SUCCESS",
            "付款银行": "OTHERS",
            "货币种类": "CNY",
            "应结订单金额": amount,
            "代金券金额": ZERO,
            "微信退款单号": "0",
            "商户退款单号": "0",
            "退款金额": ZERO,
            "充值券退款金额": ZERO,
            "商品名称": trade.body,
            "手续费": fen_to_yuan(_fee(trade.total_fee)),
            "费率": "0.60%",
            "订单金额": amount,
            "申请退款金额": ZERO,
        },
    )


def _wechat_refund_row(settings, trade, refund) -> list[str]:
    return _row(
        COLUMNS,
        {
            "交易时间": refund.success_time.strftime("%Y-%m-%d %H:%M:%S"),
            "公众账号ID": settings.wechat_appid,
            "商户号": settings.mch_id,
            "特约商户号": "0",
            "微信订单号": refund.transaction_id,
            "商户订单号": refund.out_trade_no,
            "用户标识": trade.openid,
            "交易类型": trade.trade_type,
            "交易状态": "REFUND",
            "付款银行": "OTHERS",
            "货币种类": "CNY",
            "应结订单金额": ZERO,
            "代金券金额": ZERO,
            "微信退款单号": refund.refund_id,
            "商户退款单号": refund.out_refund_no,
            "退款金额": fen_to_yuan(refund.refund_fee),
            "充值券退款金额": ZERO,
            "退款类型": "ORIGINAL",
            "退款状态": refund.status,
            "商品名称": trade.body,
            "手续费": fen_to_yuan(-_fee(refund.refund_fee)),
            "费率": "0.60%",
            "订单金额": fen_to_yuan(refund.total_fee),
            "申请退款金额": fen_to_yuan(refund.refund_fee),
        },
    )


def wechat_bill_text(box, day: date, bill_type: str = "ALL") -> str | None:
    """downloadbill's text (ALL / SUCCESS / REFUND), or None when the day has no bill."""
    settings, state = box.settings, box.state
    rows: list[tuple[datetime, list[str]]] = []
    paid = refunded = fees = 0
    with state.lock:
        trades = list(state.wechat_trades.values())
        refunds = [(state.wechat_trades[r.out_trade_no], r) for r in state.wechat_refunds.values()]
    for trade in trades:
        if bill_type in ("ALL", "SUCCESS") and trade.transaction_id and _on(trade.time_end, day):
            paid, fees = paid + trade.total_fee, fees + _fee(trade.total_fee)
            rows.append((trade.time_end, _wechat_payment_row(settings, trade)))
    for trade, refund in refunds:
        if bill_type in ("ALL", "REFUND") and _on(refund.success_time, day):
            refunded, fees = refunded + refund.refund_fee, fees - _fee(refund.refund_fee)
            rows.append((refund.success_time, _wechat_refund_row(settings, trade, refund)))
    if not rows:
        return None
    rows.sort(key=lambda row: row[0])
    lines = [",".join(COLUMNS)] + [format_line(values) for _, values in rows]
    lines.append(",".join(SUMMARY_COLUMNS))
    totals = [str(len(rows)), fen_to_yuan(paid), fen_to_yuan(refunded), ZERO, fen_to_yuan(fees)]
    lines.append(format_line([*totals, fen_to_yuan(paid), fen_to_yuan(refunded)]))
    return "\r\n".join(lines) + "\r\n"


def _masked(buyer: str | None) -> str:
    return (buyer[:4] + "****" + buyer[-4:]) if buyer and len(buyer) > 8 else "****"


def _alipay_row(trade, kind: str, at: datetime, amount_fen: int, out_request_no: str, fee_fen: int) -> list[str]:
    amount = fen_to_yuan(amount_fen)
    values = dict.fromkeys(DETAIL_COLUMNS[13:21], ZERO) | {
        "支付宝交易号": trade.trade_no,
        "商户订单号": trade.out_trade_no,
        "业务类型": kind,
        "商品名称": trade.subject,
        "创建时间": trade.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "完成时间": at.strftime("%Y-%m-%d %H:%M:%S"),
        "对方账户": _masked(trade.buyer_id or trade.buyer_open_id),
        "订单金额（元）": amount,
        "商家实收（元）": amount,
        "券名称": "",
        "退款批次号/请求号": out_request_no,
        "服务费（元）": fen_to_yuan(fee_fen),
        "分润（元）": ZERO,
    }
    return _row(DETAIL_COLUMNS, values)


def alipay_bill_zip(box, day: date) -> bytes | None:
    """The trade bill archive (detail + summary CSV, GBK), or None when the day has no business."""
    settings, state = box.settings, box.state
    with state.lock:
        trades = [t for t in state.alipay_trades.values() if _on(t.paid_at, day)]
        refunds = [r for r in state.alipay_refunds.values() if _on(r.created_at, day)]
        by_out_trade_no = {t.out_trade_no: t for t in state.alipay_trades.values()}
    if not trades and not refunds:
        return None
    detail = io.StringIO()
    start = datetime.combine(day, time(0), BEIJING)
    stamp = "%Y年%m月%d日 %H:%M:%S"
    detail.write(f"#支付宝业务明细查询\r\n#账号：[{settings.alipay_seller_id}]\r\n")
    end = start + timedelta(days=1)
    detail.write(f"#起始日期：[{start.strftime(stamp)}]   终止日期：[{end.strftime(stamp)}]\r\n")
    detail.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
    writer = csv.writer(detail, lineterminator="\r\n")
    writer.writerow(DETAIL_COLUMNS)
    paid = refunded = 0
    for trade in sorted(trades, key=lambda t: t.paid_at):
        paid += trade.total_fen
        writer.writerow(_alipay_row(trade, "交易", trade.paid_at, trade.total_fen, "", -_fee(trade.total_fen)))
    for refund in sorted(refunds, key=lambda r: r.created_at):
        refunded += refund.refund_fen
        trade = by_out_trade_no[refund.out_trade_no]
        fee = _fee(refund.refund_fen)
        writer.writerow(_alipay_row(trade, "退款", refund.created_at, -refund.refund_fen, refund.out_request_no, fee))
    detail.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
    detail.write(f"#交易合计：{len(trades)}笔，商家实收共：{fen_to_yuan(paid)}元，商家优惠共：0.00元\r\n")
    detail.write(f"#退款合计：{len(refunds)}笔，商家实收退款共：{fen_to_yuan(-refunded)}元，商家优惠退款共：0.00元\r\n")
    detail.write(f"#导出时间：[{beijing_now().strftime(stamp)}]\r\n")
    summary = io.StringIO()
    summary.write("#支付宝业务汇总查询\r\n")
    summary_writer = csv.writer(summary, lineterminator="\r\n")
    summary_writer.writerow(["业务类型", "笔数", "订单金额（元）", "商家实收（元）"])
    summary_writer.writerow(["交易", len(trades), fen_to_yuan(paid), fen_to_yuan(paid)])
    summary_writer.writerow(["退款", len(refunds), fen_to_yuan(-refunded), fen_to_yuan(-refunded)])
    prefix = f"{settings.alipay_seller_id}_{day.strftime('%Y%m%d')}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(prefix + DETAIL_SUFFIX, detail.getvalue().encode("gbk"))
        archive.writestr(prefix + SUMMARY_SUFFIX, summary.getvalue().encode("gbk"))
    return buffer.getvalue()
