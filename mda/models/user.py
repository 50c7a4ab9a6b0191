"""Organisations, users with role and region scope, API tokens and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from mda.models.base import Base, UTCDateTime, created_at, enum_column, intpk
from mda.models.region import Region
from mda.vocabulary import Role

if TYPE_CHECKING:
    from mda.models.trajectory import Trajectory

user_regions = Table(
    "user_regions",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("region_code", ForeignKey("regions.code"), primary_key=True),
)


class Organisation(Base):
    """A partner organisation (Veilig Thuis, a local team, the police, a care provider...)."""

    __tablename__ = "organisations"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str | None] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    """A person who signs in. Never a household member: households are pseudonymous."""

    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last TOTP time step accepted: a code is refused for that step or an earlier one, so
    # an overheard code cannot be replayed within its validity window.
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    # Part of every signed session cookie (``get_id``) and compared on every request: a new
    # value ends every web session of the user (sign-out, password change or reset, role or
    # region change, deactivation; see mda.services.auth.sign_out and sign_out_everywhere).
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    regions: Mapped[list[Region]] = relationship(secondary=user_regions, order_by=Region.code)
    # The trajectories this user coordinates: written only, never loaded whole.
    coordinated_trajectories: WriteOnlyMapped[Trajectory] = relationship(
        back_populates="coordinator"
    )

    # What Flask-Login asks of a user object, written out here so that the models import
    # nothing from Flask (the web layer's user loader returns these rows as they are).
    __hash__ = Base.__hash__

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return self.is_active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:  # the session token makes old sessions invalid
        return f"{self.id}:{self.session_token}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, User):
            return self.get_id() == other.get_id()
        return NotImplemented

    @property
    def region_codes(self) -> frozenset[str]:
        return frozenset(region.code for region in self.regions)

    @property
    def region_list(self) -> list[str]:
        return sorted(region.code for region in self.regions)


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed sign-ins, counted per account and per address for throttling."""

    __tablename__ = "login_attempts"

    id: Mapped[intpk]
    at: Mapped[created_at]
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


__all__ = ["ApiToken", "LoginAttempt", "Organisation", "User", "user_regions"]
