"""A4 sheets of 承诺达标合格证 labels with the batch's QR code, for the station's printer.

The PDF is drawn with fpdf2, the QR code by segno; Chinese needs a CJK font
from the machine, found at run time (``LABEL_FONT_PATH``, else Debian's
fonts-wqy-microhei or fonts-noto-cjk). Without one the request fails with a
503 that names the packages to install.
"""

import functools
import io
from pathlib import Path

import segno
from flask import current_app
from fpdf import FPDF
from fpdf.enums import WrapMode

from core.errors import AppError, Conflict
from shop.batches.models import BASIS_TEXT, COMMITMENT_TEXT, Batch, BatchStatus, Commitment, CommitmentBasis

# (path, face in a collection or None to pick the Simplified Chinese face); TrueType faces first.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", None),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", None),
)
FONT_PACKAGES = "fonts-wqy-microhei 或 fonts-noto-cjk"
# Two columns of four labels on A4 portrait (mm).
PAGE_MARGIN, COLUMNS, ROWS = 10.0, 2, 4
LABEL_W, LABEL_H, GUTTER_X, GUTTER_Y = 93.0, 68.0, 4.0, 5.0
LABELS_PER_SHEET = COLUMNS * ROWS
QR_SIZE = 27.0


class LabelFontMissing(AppError):
    status, code = 503, "label_font_missing"
    message = f"服务器未安装中文字体，无法生成合格证标签：请安装 Debian 软件包 {FONT_PACKAGES}"


@functools.cache
def _simplified_chinese_face(path: str) -> int:
    """The index of the SC face in a CJK collection (Noto orders JP, KR, SC, TC, HK)."""
    from fontTools.ttLib import TTCollection

    with TTCollection(path, lazy=True) as collection:
        for index, font in enumerate(collection.fonts):
            if "SC" in (font["name"].getDebugName(4) or "").split():
                return index
    return 0


def _resolve(candidates: tuple) -> tuple[str, int] | None:
    for path, face in candidates:
        if Path(path).is_file():
            return path, face if face is not None else _simplified_chinese_face(path)
    return None


def find_cjk_font() -> tuple[str, int]:
    """(path, face index) of a font that can draw Chinese, or LabelFontMissing."""
    configured = current_app.config.get("LABEL_FONT_PATH")
    candidates = ((configured, 0),) if configured else FONT_CANDIDATES
    found = _resolve(candidates)
    if found is None:
        raise LabelFontMissing()
    return found


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="svg", scale=8, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def _label_lines(batch: Batch) -> list[tuple[str, float]]:
    certificate = batch.certificate
    lines = [
        (f"产品名称：{certificate.product_name}", 7.5),
        (f"数量（重量）：{certificate.quantity_text}", 7.5),
        (f"产地：{certificate.origin}", 7.0),
        (f"生产者：{certificate.producer_name}", 7.5),
        (f"联系方式：{certificate.producer_contact}", 7.5),
        (f"开具日期：{certificate.issued_on:%Y年%m月%d日}", 7.5),
        ("我承诺对生产销售的食用农产品：", 7.0),
    ]
    lines += [(f"√ {COMMITMENT_TEXT[Commitment(item)]}", 6.5) for item in certificate.commitments]
    lines.append((f"承诺依据：{BASIS_TEXT[CommitmentBasis(certificate.basis)]}", 7.0))
    return lines


def _draw_label(pdf: FPDF, batch: Batch, x: float, y: float, qr: bytes) -> None:
    certificate = batch.certificate
    pdf.set_draw_color(80, 80, 80)
    pdf.rect(x, y, LABEL_W, LABEL_H)
    pdf.set_font("cjk", size=12)
    pdf.set_xy(x, y + 2)
    pdf.cell(LABEL_W, 6, "承诺达标合格证", align="C")
    pdf.set_font("cjk", size=6.5)
    pdf.set_xy(x + 3, y + 8.5)
    pdf.cell(LABEL_W - 6, 3, f"编号：{certificate.no}")
    text_w = LABEL_W - QR_SIZE - 8
    cursor = y + 12.5
    for text, size in _label_lines(batch):
        pdf.set_font("cjk", size=size)
        pdf.set_xy(x + 3, cursor)
        pdf.multi_cell(text_w, size * 0.42, text, wrapmode=WrapMode.CHAR)
        cursor = pdf.get_y() + 0.4
    pdf.set_font("cjk", size=6.5)
    pdf.set_xy(x + 3, y + LABEL_H - 5)
    pdf.cell(text_w, 3, "本人对以上承诺的真实性负责")
    qr_x, qr_y = x + LABEL_W - QR_SIZE - 3, y + 13
    pdf.image(io.BytesIO(qr), x=qr_x, y=qr_y, w=QR_SIZE, h=QR_SIZE)
    pdf.set_xy(qr_x, qr_y + QR_SIZE + 0.5)
    pdf.multi_cell(QR_SIZE, 3, f"扫码查看产地与帮扶\n溯源码 {batch.trace_code}", align="C")


def labels_pdf(batch: Batch, count: int | None = None) -> bytes:
    """``count`` labels (default: one full sheet) of the batch's certificate in force."""
    if batch.status == BatchStatus.REVOKED:
        raise Conflict("批次已被撤销，不能打印合格证")
    if batch.certificate is None:
        raise Conflict("该批次尚未开具合格证")
    path, face = find_cjk_font()
    count = count or LABELS_PER_SHEET
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"承诺达标合格证 {batch.certificate.no}")
    pdf.set_creator("株洲农村电商")
    pdf.add_font("cjk", fname=path, collection_font_number=face)
    qr = qr_png(batch.trace_url)
    for index in range(count):
        slot = index % LABELS_PER_SHEET
        if slot == 0:
            pdf.add_page()
        column, row = slot % COLUMNS, slot // COLUMNS
        x = PAGE_MARGIN + column * (LABEL_W + GUTTER_X)
        y = PAGE_MARGIN + row * (LABEL_H + GUTTER_Y)
        _draw_label(pdf, batch, x, y, qr)
    return bytes(pdf.output())
