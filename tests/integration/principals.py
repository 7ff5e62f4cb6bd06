"""Acting as someone else in a service-level test (the `archive` fixture acts as the OS
user's admin account), and four-eyes approval by a second account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hramba.domain.access import Principal, Role
from hramba.services import disposal
from hramba.services.context import Archive

APPROVER = Principal("boris", frozenset({Role.APPROVER}))


def principal(login: str, *roles: Role, tenants: frozenset[int] | None = None) -> Principal:
    return Principal(login, frozenset(roles), tenants)


@contextmanager
def acting_as(archive: Archive, who: Principal) -> Iterator[Archive]:
    """The archive acts as `who` inside the block, as before after it."""
    before, archive.principal = archive.principal, who
    try:
        yield archive
    finally:
        archive.principal = before


def approve(archive: Archive, disposal_id: int) -> dict[str, Any]:
    """Approve as an approver who is not the proposer (four eyes)."""
    with acting_as(archive, APPROVER):
        return disposal.approve(archive, disposal_id)
