"""Region import and lookup services."""

import csv
import io
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from core.db import after_commit, after_rollback
from core.errors import NotFound
from core.extensions import db
from core.pagination import paginate
from villages.models import CODE_LENGTHS, Region, RegionLevel, Village

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
# How long a worker keeps a page of regions (changes made by another process show after this).
REGION_CACHE_SECONDS = 300
MAX_KEPT_PAGES = 2000
_PARENT_LEVEL = {
    RegionLevel.COUNTY: RegionLevel.CITY,
    RegionLevel.TOWNSHIP: RegionLevel.COUNTY,
    RegionLevel.VILLAGE: RegionLevel.TOWNSHIP,
}


class RegionImportError(ValueError):
    """A bad row in a regions CSV; ``line`` is the 1-based line number in the file."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _check_row(line: int, row: dict, known: dict[str, str]) -> tuple[str, str, str, str]:
    code = (row.get("code") or "").strip()
    name = (row.get("name") or "").strip()
    level = (row.get("level") or "").strip()
    parent = (row.get("parent_code") or "").strip()
    if level not in set(RegionLevel):
        raise RegionImportError(line, f"level must be one of {', '.join(RegionLevel)}, got {level!r}")
    if not code.isdigit() or len(code) != CODE_LENGTHS[level]:
        raise RegionImportError(line, f"a {level} code has {CODE_LENGTHS[level]} digits, got {code!r}")
    if not name:
        raise RegionImportError(line, "name is empty")
    if level != RegionLevel.CITY:
        if known.get(parent) != _PARENT_LEVEL[level]:
            raise RegionImportError(line, f"parent {parent!r} of {code} must be a known {_PARENT_LEVEL[level]}")
        if not code.startswith(parent):
            raise RegionImportError(line, f"code {code} does not start with its parent code {parent}")
    return code, name, level, parent or None


def import_regions(text: str) -> ImportResult:
    """Create or update regions from CSV text; all-or-nothing, idempotent."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise RegionImportError(1, f"missing columns: {', '.join(missing)}")
    existing = {r.code: r for r in db.session.scalars(sa.select(Region))}
    known = {code: region.level for code, region in existing.items()}
    rows = []
    for line, row in enumerate(reader, start=2):
        code, name, level, parent = _check_row(line, row, known)
        known[code] = level
        rows.append((code, name, level, parent))
    result = ImportResult()
    for code, name, level, parent in rows:
        region = existing.get(code)
        if region is None:
            db.session.add(Region(code=code, name=name, level=level, parent_code=parent))
            if level == RegionLevel.VILLAGE:
                db.session.add(Village(code=code))
            result.created += 1
        elif (region.name, region.level, region.parent_code) != (name, level, parent):
            region.name, region.level, region.parent_code = name, level, parent
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def list_children(parent_code: str | None, page: int, per_page: int) -> dict:
    """Regions directly under ``parent_code`` (the city when none is given), kept in this process a while.

    Regions change only through ``flask regions import`` (and the demo seed):
    a change made in this process forgets the kept pages at once; one made by
    another process (the CLI) shows within ``REGION_CACHE_SECONDS``.
    """
    key = (parent_code or "", page, per_page)
    pages = _kept_pages()
    held = pages.get(key)
    now = time.monotonic()
    if held is not None and held[0] > now:
        return held[1]
    statement = sa.select(Region.code, Region.name, Region.level).order_by(Region.code)
    if parent_code:
        if db.session.get(Region, parent_code) is None:
            raise NotFound("地区不存在", details={"parent": [parent_code]})
        statement = statement.where(Region.parent_code == parent_code)
    else:
        statement = statement.where(Region.level == RegionLevel.CITY)
    result = paginate(statement, page, per_page, scalars=False)
    result["items"] = [row._asdict() for row in result["items"]]
    if len(pages) >= MAX_KEPT_PAGES:
        pages.clear()
    pages[key] = (now + REGION_CACHE_SECONDS, result)
    return result


def kept_answer(query_string: bytes) -> tuple[str, bytes] | None:
    """The rendered answer (ETag, JSON) to a region list query seen before, while it is fresh.

    Only queries that passed validation are kept (``keep_answer``), under their exact query string,
    so a hit needs neither parsing nor the database; a region change forgets them with the pages.
    """
    held = _kept_pages().get(query_string)
    if held is not None and held[0] > time.monotonic():
        return held[1]
    return None


def keep_answer(query_string: bytes, etag: str, body: bytes) -> None:
    pages = _kept_pages()
    if len(pages) >= MAX_KEPT_PAGES:
        pages.clear()
    pages[query_string] = (time.monotonic() + REGION_CACHE_SECONDS, (etag, body))


def _kept_pages() -> dict:
    return current_app.extensions.setdefault("region_pages", {})


def forget_kept_regions(app=None) -> None:
    """Drop every kept region page (after a change; tests after a rollback)."""
    (app or current_app).extensions.pop("region_pages", None)


def _regions_changed(session: Session) -> None:
    """Drop the kept pages now, and again when the transaction ends (others may have kept its rows meanwhile)."""
    _forget_if_app()
    after_commit(_forget_if_app, session, once=True)
    after_rollback(_forget_if_app, session, once=True)


@sa.event.listens_for(Session, "before_flush")
def _track_region_changes(session: Session, flush_context, instances) -> None:
    if any(isinstance(obj, Region) for obj in (*session.new, *session.dirty, *session.deleted)):
        _regions_changed(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _track_bulk_region_statements(state) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and getattr(
        getattr(state.statement, "table", None), "name", None
    ) == Region.__tablename__:
        _regions_changed(state.session)


def _forget_if_app() -> None:
    if has_app_context():
        forget_kept_regions()


def get_region(code: str) -> Region:
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound("地区不存在")
    return region
