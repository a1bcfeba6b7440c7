"""The public trace answer for a code: product, origin, station, certificate and who benefits.

Nothing about the person who scans is stored; each request adds one to the
batch's counter. A producer's name appears only masked (李**) and only when
the villager consented.
"""

import re

import sqlalchemy as sa

from core.errors import NotFound
from core.extensions import db
from shop.batches.models import BASIS_TEXT, COMMITMENT_TEXT, Batch, Commitment, CommitmentBasis, ProducerKind
from shop.batches.services import TRACE_ALPHABET, TRACE_CODE_LENGTH
from villages.models import HouseholdCategory, Region, Seller

BPS = 10_000
_CODE = re.compile(f"[{TRACE_ALPHABET}]{{{TRACE_CODE_LENGTH}}}")


def mask_name(name: str | None) -> str | None:
    """李秀英 → 李** (the surname and two stars, whatever the length)."""
    return f"{name[:1]}**" if name else None


def shown_name(seller: Seller) -> str | None:
    return mask_name(seller.name) if seller.show_name_on_trace else None


def seller_share_bps(batch: Batch) -> int:
    """The share of the price the household keeps at the rates in force (the ledger's split)."""
    return BPS - batch.station.centre.commission_bps - batch.station.service_fee_bps


def count_scan(code: str) -> Batch:
    """The batch a code names, its scan counter raised by one; 404 for an unknown code."""
    code = (code or "").strip().upper()
    if not _CODE.fullmatch(code):
        raise NotFound("溯源码不存在")
    batch = db.session.scalar(sa.select(Batch).where(Batch.trace_code == code))
    if batch is None:
        raise NotFound("溯源码不存在")
    db.session.execute(
        sa.update(Batch)
        .where(Batch.id == batch.id)
        .values(scan_count=Batch.scan_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(batch, ["scan_count"])
    return batch


def _certificate(batch: Batch) -> dict | None:
    certificate = batch.certificate
    if certificate is None:
        return None
    if batch.producer_kind == ProducerKind.COOPERATIVE:
        producer = certificate.producer_name
    else:
        producer = mask_name(certificate.producer_name) if batch.seller.show_name_on_trace else None
    return {
        "no": certificate.no,
        "issued_on": certificate.issued_on,
        "producer": producer,
        "commitments": list(certificate.commitments),
        "commitments_text": [COMMITMENT_TEXT[Commitment(item)] for item in certificate.commitments],
        "basis": certificate.basis,
        "basis_text": BASIS_TEXT[CommitmentBasis(certificate.basis)],
        "origin": certificate.origin,
        "superseded_count": len(batch.certificates) - 1,
    }


def trace_answer(batch: Batch) -> dict:
    """The trace answer in the shape of API.md (plus a few additive fields)."""
    village = batch.origin_village
    township = db.session.get(Region, village.code[:9])
    seller = batch.seller
    category = HouseholdCategory(seller.household_category)
    cooperative = None
    if batch.producer_kind == ProducerKind.COOPERATIVE:
        cooperative = {
            "name": batch.cooperative_name,
            "members": [
                {
                    "category": m.seller.household_category,
                    "category_text": HouseholdCategory(m.seller.household_category).label,
                    "name_masked": shown_name(m.seller),
                }
                for m in batch.members
            ],
        }
    return {
        "code": batch.trace_code,
        "product": {"id": batch.product.id, "title": batch.product.title},
        "village": {"code": village.code, "name": village.name},
        "township": {"code": township.code, "name": township.name} if township else None,
        "station": {"id": batch.station.id, "name": batch.station.name},
        "batch": {
            "harvested_on": batch.harvested_on,
            "quantity": batch.quantity,
            "unit": batch.unit,
            "status": batch.status,
            "certificate": _certificate(batch),
        },
        "poverty_certified": batch.product.poverty_certified,
        "beneficiary": {
            "category": category.value,
            "category_text": HouseholdCategory(category).label,
            "name_masked": shown_name(seller),
            "share_bps": seller_share_bps(batch),
        },
        "cooperative": cooperative,
        "scans": batch.scan_count,
    }
