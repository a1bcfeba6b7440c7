"""Small factories for records the tests need.

Factories commit: inside a test that only releases a savepoint (see
conftest.py), and it keeps the records when a request under test rolls back.
"""

import itertools

from core.auth import issue_tokens
from core.extensions import db
from core.models import User
from core.services import grant_role, hash_password
from villages.models import Region

_sequence = itertools.count(1)


def region(code: str, name: str | None = None, level: str | None = None) -> Region:
    """A region and any missing ancestors (city 4302 → … → ``code``)."""
    levels = {4: "city", 6: "county", 9: "township", 12: "village"}
    parent = None
    for length in (4, 6, 9, 12):
        if length > len(code):
            break
        part = code[:length]
        existing = db.session.get(Region, part)
        if existing is None:
            existing = Region(
                code=part,
                name=name if part == code and name else f"测试{levels[length]}{part}",
                level=levels[length] if part != code else (level or levels[length]),
                parent_code=parent,
            )
            db.session.add(existing)
        parent = part
    db.session.commit()
    return db.session.get(Region, code)


def user(*grants: tuple, username: str | None = None, password: str = "correct-horse-1", **fields) -> User:
    """A user with the given grants, each ``(role, region_code[, station_id])``."""
    number = next(_sequence)
    account = User(
        username=username or f"user{number}",
        display_name=fields.pop("display_name", f"用户{number}"),
        password_hash=hash_password(password),
        **fields,
    )
    db.session.add(account)
    db.session.flush()
    for grant in grants:
        role, region_code, station_id = (*grant, None, None)[:3]
        grant_role(account, role, region_code=region_code, station_id=station_id)
    db.session.commit()
    return account


def auth_header(account: User) -> dict:
    return {"Authorization": f"Bearer {issue_tokens(account)['token']}"}
