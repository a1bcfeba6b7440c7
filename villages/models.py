"""Administrative regions (city → county → township → village)."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db

LEVELS = ("city", "county", "township", "village")
# Length of the statistical division code at each level (GB/T 2260 + NBS).
CODE_LENGTHS = {"city": 4, "county": 6, "township": 9, "village": 12}


class Region(db.Model):
    __tablename__ = "regions"
    __table_args__ = (
        sa.CheckConstraint("level IN ('city','county','township','village')", name="known_level"),
    )

    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(16))
    # Parent code; the city's parent is the province code, not stored as a row.
    parent_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
