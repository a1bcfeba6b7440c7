"""Users and their role grants."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, utcnow
from core.extensions import db
from core.pii import Encrypted
from core.vocabulary import LabelledEnum


class Role(LabelledEnum):
    """What a grant lets its user do (see README "Roles")."""

    BUYER = "buyer", "买家"
    SELLER = "seller", "卖家"
    STATION_MANAGER = "station_manager", "服务站站长"
    COUNTY_ADMIN = "county_admin", "县域电商中心"
    POVERTY_OFFICE = "poverty_office", "扶贫办"
    PLATFORM_ADMIN = "platform_admin", "平台管理员"


# The roles of staff accounts (password login); every staff member may read their part of the city.
STAFF_ROLES = (Role.PLATFORM_ADMIN, Role.COUNTY_ADMIN, Role.POVERTY_OFFICE, Role.STATION_MANAGER)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Staff log in with username + password; buyers and sellers through WeChat/Alipay.
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    wechat_unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    alipay_user_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The number WeChat confirmed through a getPhoneNumber button (POST /auth/phone), for pickups.
    phone: Mapped[str | None] = mapped_column(Encrypted("user.phone"))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every token issued so far (password change, lock-out).
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    grants: Mapped[list["RoleGrant"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return sorted({grant.role for grant in self.grants})

    def has_role(self, *roles: str) -> bool:
        return any(grant.role in roles for grant in self.grants)


class RoleGrant(db.Model):
    """One role of a user, optionally limited to a region code prefix or a station."""

    __tablename__ = "role_grants"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "role", "region_code", "station_id"),
        sa.CheckConstraint(one_of("role", Role), name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    # Administrative code the role is limited to (prefix match); NULL = everywhere.
    region_code: Mapped[str | None] = mapped_column(sa.String(12))
    # For station managers: the station they run (its village is region_code).
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants")
