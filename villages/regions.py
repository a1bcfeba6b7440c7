"""Region import and lookup services."""

import csv
import io
from dataclasses import dataclass

import sqlalchemy as sa

from core.errors import NotFound
from core.extensions import db
from core.pagination import paginate
from villages.models import CODE_LENGTHS, Region, RegionLevel, Village

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
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
    """Regions directly under ``parent_code`` (the city when none is given)."""
    statement = sa.select(Region).order_by(Region.code)
    if parent_code:
        if db.session.get(Region, parent_code) is None:
            raise NotFound("地区不存在", details={"parent": [parent_code]})
        statement = statement.where(Region.parent_code == parent_code)
    else:
        statement = statement.where(Region.level == RegionLevel.CITY)
    return paginate(statement, page, per_page)


def get_region(code: str) -> Region:
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound("地区不存在")
    return region
