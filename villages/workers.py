"""Network information officers and e-commerce talent of each village."""

import sqlalchemy as sa

from core.auth import ensure_in_scope
from core.clock import beijing_today
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.pagination import paginate
from core.pii import digest
from core.validators import normalise_phone
from villages.access import county_scope, read_scope
from villages.models import Region, RegionLevel, VillageWorker


def add_worker(actor: User, village_code: str, data: dict) -> VillageWorker:
    """Record a worker in a village of the actor's county."""
    village = db.session.get(Region, village_code)
    if village is None or village.level != RegionLevel.VILLAGE:
        raise NotFound("村不存在")
    ensure_in_scope(county_scope(actor), village_code)
    phone = normalise_phone(data["phone"])
    worker = VillageWorker(
        village_code=village_code,
        kind=data["kind"],
        name=data["name"],
        phone=phone,
        phone_digest=digest(phone, "phone"),
        trained_on=data.get("trained_on"),
        certificate_no=data.get("certificate_no"),
    )
    db.session.add(worker)
    db.session.flush()
    return worker


def list_workers(actor: User, village_code: str, include_left: bool, page: int, per_page: int) -> dict:
    ensure_in_scope(read_scope(actor), village_code)
    statement = sa.select(VillageWorker).where(VillageWorker.village_code == village_code).order_by(VillageWorker.id)
    if not include_left:
        statement = statement.where(VillageWorker.left_on.is_(None))
    return paginate(statement, page, per_page)


def worker_leaves(actor: User, worker_id: int, left_on) -> VillageWorker:
    """Mark a worker as gone; the row stays as history and stops counting."""
    worker = db.session.get(VillageWorker, worker_id)
    if worker is None:
        raise NotFound("人员不存在")
    ensure_in_scope(county_scope(actor), worker.village_code, hide=True)
    if worker.left_on is not None:
        raise Conflict("该人员已离任")
    left_on = left_on or beijing_today()
    if worker.trained_on and left_on < worker.trained_on:
        raise ValidationFailed.field("left_on", "离任日期不能早于培训日期")
    worker.left_on = left_on
    db.session.flush()
    return worker
