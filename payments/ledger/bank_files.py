"""The files of 银行代发 (bank batch payouts): the upload file we write, the result file the bank gives back.

The upload file is what a county's accountant loads into the bank's corporate
banking (企业网银 批量代发): one line per payee with the name the bank holds
(户名), the account number, the bank, the amount in yuan, the purpose and our
reference. Every cell is written as text: an account number must not become
1.23E+18 in Excel, and a name starting with ``=`` must not become a formula.

The result file is the bank's answer, exported from the same corporate
banking as CSV or XLSX. Banks name their columns differently; a column is
found by any of its usual headers (参考号/备注/摘要/客户流水号, 金额, 状态/处理结果,
失败原因/备注信息), so the accountant can upload the bank's own export.
"""

import csv
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import TYPE_STRING

from payments.money import fen_to_yuan

UPLOAD_HEADERS = ("序号", "收款人户名", "收款账号", "开户行", "金额（元）", "用途", "参考号")
# Header aliases of the bank's result file, per field (compared without spaces, case-insensitively).
RESULT_COLUMNS = {
    "reference": ("参考号", "客户流水号", "业务参考号", "备注", "摘要", "reference"),
    "amount": ("金额（元）", "金额(元)", "金额", "交易金额", "amount"),
    "status": ("状态", "处理结果", "交易状态", "结果", "status"),
    "reason": ("失败原因", "错误信息", "备注信息", "原因", "reason"),
}
SUCCEEDED = ("成功", "交易成功", "处理成功", "已成功", "success", "succeeded", "ok")
FAILED = ("失败", "交易失败", "处理失败", "退汇", "已退回", "fail", "failed", "returned")
MAX_RESULT_ROWS = 20_000


class BankFileError(ValueError):
    """The uploaded result file cannot be read as a bank result file (says why, in Chinese)."""


@dataclass(frozen=True)
class UploadLine:
    payee_name: str
    account_no: str
    bank_name: str
    amount_fen: int
    purpose: str
    reference: str


@dataclass(frozen=True)
class ResultLine:
    row: int  # the line number in the file, for the accountant
    reference: str
    amount_fen: int | None  # None: the amount cell did not read as yuan
    succeeded: bool | None  # None: a status we do not know
    reason: str


def _text(value: object) -> str:
    """A value as spreadsheet text that no spreadsheet will run: formulas become plain text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def upload_xlsx(lines: list[UploadLine]) -> bytes:
    """The bank upload file as XLSX, every cell stored as text."""
    book = Workbook()
    sheet = book.active
    sheet.title = "银行代发"
    sheet.append(UPLOAD_HEADERS)
    for number, line in enumerate(lines, start=1):
        values = (number, line.payee_name, line.account_no, line.bank_name, fen_to_yuan(line.amount_fen))
        sheet.append([_text(value) for value in (*values, line.purpose, line.reference)])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.data_type = TYPE_STRING
    for column, width in zip("ABCDEFG", (6, 14, 26, 30, 12, 12, 34), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload_csv(lines: list[UploadLine]) -> bytes:
    """The bank upload file as CSV (UTF-8 with BOM, so Excel opens the Chinese right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(UPLOAD_HEADERS)
    for number, line in enumerate(lines, start=1):
        row = (number, line.payee_name, line.account_no, line.bank_name, fen_to_yuan(line.amount_fen))
        writer.writerow([_text(value) for value in (*row, line.purpose, line.reference)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _rows(data: bytes, filename: str) -> list[list[str]]:
    if filename.lower().endswith(".xlsx") or data[:2] == b"PK":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise BankFileError("无法读取该 Excel 文件") from exc
        rows = [["" if cell is None else str(cell) for cell in row] for row in book.active.iter_rows(values_only=True)]
        book.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese banks often export GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BankFileError("文件编码无法识别（应为 UTF-8 或 GBK 的 CSV，或 XLSX）")
    return list(csv.reader(io.StringIO(text)))


def _header_index(header: list[str]) -> dict[str, int]:
    names = ["".join(str(cell).split()).lower().lstrip("'") for cell in header]
    found = {}
    for field, aliases in RESULT_COLUMNS.items():
        for alias in aliases:
            if alias.lower() in names:
                found[field] = names.index(alias.lower())
                break
    missing = [field for field in ("reference", "amount", "status") if field not in found]
    if missing:
        raise BankFileError("回单文件缺少列：" + "、".join(RESULT_COLUMNS[field][0] for field in missing))
    return found


def _fen(text: str) -> int | None:
    try:
        amount = Decimal(text.replace(",", "").replace("¥", "").strip().lstrip("'"))
    except InvalidOperation:
        return None
    fen = amount * 100
    return int(fen) if fen == fen.to_integral_value() and fen > 0 else None


def _succeeded(text: str) -> bool | None:
    word = "".join(text.split()).lower()
    if word in SUCCEEDED:
        return True
    if word in FAILED:
        return False
    return None


def read_results(data: bytes, filename: str) -> list[ResultLine]:
    """The bank's result file: one ResultLine per payout line it mentions (blank lines skipped)."""
    rows = [row for row in _rows(data, filename) if any(str(cell).strip() for cell in row)]
    if not rows:
        raise BankFileError("回单文件是空的")
    if len(rows) > MAX_RESULT_ROWS:
        raise BankFileError(f"回单文件超过 {MAX_RESULT_ROWS} 行")
    columns = _header_index(rows[0])
    lines = []
    for number, row in enumerate(rows[1:], start=2):

        def cell(field: str, row=row) -> str:
            index = columns.get(field)
            return str(row[index]).strip().lstrip("'") if index is not None and index < len(row) else ""

        lines.append(
            ResultLine(
                row=number,
                reference=cell("reference"),
                amount_fen=_fen(cell("amount")),
                succeeded=_succeeded(cell("status")),
                reason=cell("reason")[:200],
            )
        )
    return lines
