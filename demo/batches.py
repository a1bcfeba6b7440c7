"""Demo traceability: a few 监测对象 households, consent to be named, batches with 合格证 for fresh produce.

Runs once (nothing when any batch exists), before the demo orders so that
their shipments take units from these batches. Batches are recorded through
the real service, by the station's manager (or the platform admin); about a
third of the certificates rest on a test report, a generated PDF.
"""

import io
import random
from datetime import timedelta

import sqlalchemy as sa
from fpdf import FPDF
from werkzeug.datastructures import FileStorage

from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db
from demo.orders import _managers
from shop.batches.models import Batch
from shop.batches.services import record_batch, upload_test_report
from shop.models import Product
from villages.models import SUPPORTED_HOUSEHOLDS, HouseholdCategory, Seller, Station

# Edible farm products the 合格证 rules cover.
FRESH_CATEGORIES = ("fruit", "vegetables", "tea", "meat_eggs", "aquatic")
COMMITMENTS = ["no_banned_substances", "withdrawal_periods_observed", "residues_within_limits", "no_illegal_additives"]


def _households() -> dict:
    """Some ordinary households become 监测对象; most supported households agree to be named (李**)."""
    counts = {"monitored": 0, "consented": 0}
    for seller in db.session.scalars(sa.select(Seller).order_by(Seller.id)):
        rng = random.Random(f"household-{seller.id}")
        if seller.household_category == HouseholdCategory.ORDINARY and rng.random() < 0.12:
            seller.household_category = HouseholdCategory.MONITORED.value
            seller.household_no = seller.household_no or f"JC{seller.station.village_code[:6]}{rng.randint(1000, 9999)}"
            counts["monitored"] += 1
        if seller.household_category in SUPPORTED_HOUSEHOLDS and rng.random() < 0.6:
            seller.show_name_on_trace, seller.name_consent_at = True, utcnow()
            counts["consented"] += 1
    db.session.flush()
    return counts


def _test_report_pdf(product: Product, number: int) -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=f"DEMO TEST REPORT No. ZZJC-{number:05d}")
    pdf.ln(10)
    pdf.set_font("helvetica", size=11)
    pdf.cell(text=f"Sample: product {product.id}; pesticide residues: not detected (demo only)")
    return bytes(pdf.output())


def seed_batches() -> dict:
    """Seed once; returns counts (empty when batches already exist)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Batch)):
        return {}
    counts = _households()
    counts.update({"batches": 0, "tested": 0})
    products = db.session.scalars(
        sa.select(Product)
        .join(Station, Station.id == Product.station_id)
        .where(Product.status == "on_sale", Product.category_slug.in_(FRESH_CATEGORIES), Station.status == "active")
        .order_by(Product.id)
    ).all()
    today = beijing_today()
    for product in products:
        rng = random.Random(f"batch-{product.id}")
        actor = _managers(product.station)
        for age in sorted(rng.sample(range(2, 30), rng.randint(1, 2)), reverse=True):
            certificate = {
                "commitments": COMMITMENTS,
                "basis": "quality_control",
                "producer_contact": product.seller.phone,
            }
            if rng.random() < 0.3:
                data = _test_report_pdf(product, counts["batches"] + 1)
                upload = FileStorage(stream=io.BytesIO(data), filename="检测报告（演示）.pdf")
                report = upload_test_report(actor, product.station_id, upload)
                certificate |= {"basis": "commissioned_testing", "test_report_id": report.id}
                counts["tested"] += 1
            harvested = today - timedelta(days=age)
            certificate["issued_on"] = harvested + timedelta(days=min(1, age - 1))
            record_batch(
                actor,
                {
                    "product_id": product.id,
                    "harvested_on": harvested,
                    "quantity": rng.choice((50, 80, 120, 200)),
                    "certificate": certificate,
                },
            )
            counts["batches"] += 1
    db.session.flush()
    return counts
