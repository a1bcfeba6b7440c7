"""Label sheets: A4 PDF in Chinese with the batch's text and a QR code that decodes to its trace URL."""

import io
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp

from shop.batches import labels
from tests.shop.batches.conftest import record


def _text(pdf: bytes) -> list[str]:
    # pypdf reads fpdf2's CID-keyed CFF fonts (Noto) with a NUL before each character; TrueType faces read clean.
    return [page.extract_text().replace("\x00", "") for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def _qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """Render the page as the station's printer would (200 dpi) and read every QR code on it."""
    image = pypdfium2.PdfDocument(pdf)[page].render(scale=200 / 72).to_pil()
    return [result.text for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]


def test_a_sheet_of_labels_carries_the_certificate_and_a_readable_qr_code(client, traced):
    batch = record(client, traced, quantity=40)
    response = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=traced["peach_manager"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = _text(pdf)[0]
    for expected in (
        "承诺达标合格证",
        batch["certificate"]["no"],
        "炎陵黄桃",
        "40 箱",
        "李秀英",
        "13812345678",
        "不使用禁用农药兽药、停用兽药",
        "承诺依据：质量控制",
        batch["trace_code"],
    ):
        assert expected in text, expected
    assert text.count("承诺达标合格证") == labels.LABELS_PER_SHEET
    codes = _qr_codes(pdf)
    assert len(codes) == labels.LABELS_PER_SHEET and set(codes) == {batch["trace_url"]}
    assert client.get(codes[0].removeprefix("http://127.0.0.1:5000")).status_code == 200  # it opens the trace page


def test_count_fills_further_sheets_and_the_county_may_print(client, traced):
    batch = record(client, traced)
    response = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf?count=10", headers=traced["yanling_admin"])
    assert response.status_code == 200
    pages = _text(response.data)
    assert [page.count("承诺达标合格证") for page in pages] == [8, 2]
    assert _qr_codes(response.data, page=1) == [batch["trace_url"]] * 2
    assert (
        client.get(f"/api/v1/batches/{batch['id']}/labels.pdf?count=0", headers=traced["peach_manager"]).status_code
        == 422
    )
    assert client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=traced["garlic_manager"]).status_code == 404
    assert client.get(f"/api/v1/batches/{batch['id']}/labels.pdf").status_code == 401


def test_without_a_cjk_font_the_error_names_the_package(client, traced, monkeypatch):
    batch = record(client, traced)
    monkeypatch.setattr(labels, "FONT_CANDIDATES", (("/nonexistent/font.ttc", 0),))
    response = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=traced["peach_manager"])
    assert response.status_code == 503
    assert response.json["error"]["code"] == "label_font_missing"
    assert (
        "fonts-noto-cjk" in response.json["error"]["message"]
        and "fonts-wqy-microhei" in response.json["error"]["message"]
    )


NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


@pytest.mark.skipif(not Path(NOTO).is_file(), reason="fonts-noto-cjk is not installed")
def test_the_noto_collection_draws_the_labels_too(client, traced, app, monkeypatch):
    noto = NOTO
    monkeypatch.setitem(app.config, "LABEL_FONT_PATH", None)
    monkeypatch.setattr(labels, "FONT_CANDIDATES", ((noto, None),))
    batch = record(client, traced)
    response = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=traced["peach_manager"])
    assert response.status_code == 200
    assert "承诺达标合格证" in _text(response.data)[0] and len(_qr_codes(response.data)) == 8


def test_the_qr_code_as_svg(client, traced):
    batch = record(client, traced)
    response = client.get(f"/api/v1/batches/{batch['id']}/qr.svg", headers=traced["peach_manager"])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
