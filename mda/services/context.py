"""Who is acting: the service layer's view of a user, independent of Flask-Login."""

from __future__ import annotations

from dataclasses import dataclass, field

from mda.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    """The person (or the system) on whose account a service runs."""

    user_id: int | None
    username: str
    role: Role | None
    region_codes: frozenset[str] = field(default_factory=frozenset)
    channel: str = "web"  # web, api, cli, worker
    remote_addr: str | None = None
    on_behalf_of: str | None = None

    @classmethod
    def from_user(
        cls,
        user: object,
        channel: str = "web",
        remote_addr: str | None = None,
        on_behalf_of: str | None = None,
    ) -> Actor:
        """The actor for a signed-in ``user``; acting for the user's organisation by default.

        ``on_behalf_of`` (NEN 7513's "on whose behalf") is the organisation's name unless the
        caller names someone else (the API names the calling system, its token).
        """
        if on_behalf_of is None:
            organisation = getattr(user, "organisation", None)
            on_behalf_of = getattr(organisation, "name", None)
        return cls(
            user_id=user.id,  # type: ignore[attr-defined]
            username=user.username,  # type: ignore[attr-defined]
            role=user.role,  # type: ignore[attr-defined]
            region_codes=user.region_codes,  # type: ignore[attr-defined]
            channel=channel,
            remote_addr=remote_addr,
            on_behalf_of=on_behalf_of,
        )

    @classmethod
    def system(cls, channel: str = "worker") -> Actor:
        """The worker or an operator's command line: no user, acts for the product itself."""
        return cls(user_id=None, username=f"system:{channel}", role=None, channel=channel)

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.role is None
