"""What the matrix found that its one valid request per cell cannot keep found: probes with other input."""

import io

from tests.authz.world import png


def _transfer(client, header, reference: str):
    form = {
        "payment_reference": reference,
        "amount_fen": "100",
        "payer_account_name": "某单位",
        "bank_serial_no": "PROBE0000000001",
        "received_on": "2026-01-05",
        "receipt": (io.BytesIO(png()), "回单.png"),
    }
    return client.post("/api/v1/bank-transfers", headers=header, data=form, content_type="multipart/form-data")


def test_a_buyer_cannot_tell_known_payment_references_from_unknown_ones(client, world):
    """POST /bank-transfers looked the reference up before the role: 422 "付款参考号不存在" to anyone."""
    for reference in ("ZZDW99999999", world["ids"]["payment_reference"]):
        for role in ("buyer", "seller", "station_manager_own", "poverty_office"):
            response = _transfer(client, world["headers"][role], reference)
            assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", (role, reference)
