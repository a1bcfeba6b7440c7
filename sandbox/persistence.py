"""The simulator's memory on disk: what it saw survives a restart of `flask sandbox serve`.

One JSON file (default ``instance/sandbox-state.json``, or ``SANDBOX_STATE_FILE``)
holds the trades, refunds, transfers (the bills are built from these), the
balances, the access tokens it issued, the messages and shipping uploads it
received (and the order-detail path), WeChat Pay v3's trades and refunds with
the v2 ones (``api_version``), and the notification queue with each delivery's
attempts (v3 ones are signed afresh at each sending, so no signature is kept). The file
is rewritten after every change, atomically (a temporary file in the same
directory, fsync, rename), so a crash leaves the previous or the new state,
never half of one. Not kept: the log of recorded requests (it is for tests and
carries signed parameters) and the test knobs latency and v3 refund outcome.

Stdlib only: the simulator never touches the product's database or models.
"""

import base64
import json
import os
import tempfile
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.notifier import Attempt, Delivery, Notifier
from sandbox.state import AlipayRefund, AlipayTrade, SandboxState, Transfer, WeChatRefund, WeChatTrade

FORMAT = 1
STATE_FILE_NAME = "sandbox-state.json"


class StateFileError(Exception):
    """The state file exists but cannot be read as the simulator's state."""


def default_state_file(instance_path: str | os.PathLike) -> Path:
    """``SANDBOX_STATE_FILE`` if set, else ``sandbox-state.json`` in the app's instance folder."""
    return Path(os.environ.get("SANDBOX_STATE_FILE") or Path(instance_path) / STATE_FILE_NAME)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict) -> Any:
    if obj.keys() == {"$datetime"}:
        return datetime.fromisoformat(obj["$datetime"])
    if obj.keys() == {"$bytes"}:
        return base64.b64decode(obj["$bytes"])
    return obj


def _records(cls, rows: list[dict]) -> list:
    known = {f.name for f in fields(cls)}
    return [cls(**{name: value for name, value in row.items() if name in known}) for row in rows]


def snapshot(state: SandboxState, notifier: Notifier) -> dict:
    """Everything worth keeping, as plain data (the caller holds ``state.lock``)."""
    with notifier.lock:
        deliveries = [asdict(delivery) for delivery in notifier.deliveries]
    return {
        "format": FORMAT,
        "wechat_trades": [asdict(t) for t in state.wechat_trades.values()],
        "wechat_refunds": [asdict(r) for r in state.wechat_refunds.values()],
        "alipay_trades": [asdict(t) for t in state.alipay_trades.values()],
        "alipay_refunds": [asdict(r) for r in state.alipay_refunds.values()],
        "transfers": [asdict(t) for t in state.transfers.values()],
        "access_tokens": sorted(state.access_tokens),
        "subscribe_messages": state.subscribe_messages,
        "shipping_uploads": state.shipping_uploads,
        "bill_tokens": state.bill_tokens,
        "wechat_bill_tokens": state.wechat_bill_tokens,
        "order_detail_path": state.order_detail_path,
        "wechat_balance_fen": state.wechat_balance_fen,
        "alipay_balance_fen": state.alipay_balance_fen,
        "deliveries": deliveries,
    }


def save(path: Path, state: SandboxState, notifier: Notifier) -> None:
    """Write the state to ``path`` atomically (call with ``state.lock`` held, so writes never interleave)."""
    text = json.dumps(snapshot(state, notifier), default=_encode, ensure_ascii=False, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load(path: Path, state: SandboxState, notifier: Notifier) -> bool:
    """Fill a fresh state and notifier from ``path``; False when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    try:
        data = json.loads(text, object_hook=_decode)
        if data.get("format") != FORMAT:
            raise StateFileError(f"{path}: unknown format {data.get('format')!r}")
        with state.lock:
            state.wechat_trades = {t.out_trade_no: t for t in _records(WeChatTrade, data["wechat_trades"])}
            state.wechat_refunds = {r.out_refund_no: r for r in _records(WeChatRefund, data["wechat_refunds"])}
            state.alipay_trades = {t.out_trade_no: t for t in _records(AlipayTrade, data["alipay_trades"])}
            state.alipay_refunds = {
                (r.out_trade_no, r.out_request_no): r for r in _records(AlipayRefund, data["alipay_refunds"])
            }
            state.transfers = {t.out_biz_no: t for t in _records(Transfer, data["transfers"])}
            state.access_tokens = set(data["access_tokens"])
            state.subscribe_messages = list(data["subscribe_messages"])
            state.shipping_uploads = list(data["shipping_uploads"])
            state.bill_tokens = {token: tuple(value) for token, value in data["bill_tokens"].items()}
            state.wechat_bill_tokens = {
                token: tuple(value) for token, value in data.get("wechat_bill_tokens", {}).items()
            }
            state.order_detail_path = data.get("order_detail_path")
            state.wechat_balance_fen = data["wechat_balance_fen"]
            state.alipay_balance_fen = data["alipay_balance_fen"]
        deliveries = []
        for row in data["deliveries"]:
            delivery = _records(Delivery, [row | {"attempts": _records(Attempt, row["attempts"])}])[0]
            if delivery.in_flight:  # interrupted mid-send: send it again now (notifications may repeat)
                delivery.in_flight, delivery.next_at = False, notifier.clock()
            deliveries.append(delivery)
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"{path}: not a sandbox state file ({type(exc).__name__}: {exc})") from exc
    notifier.restore(deliveries)
    return True
