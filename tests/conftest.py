"""Fixtures shared by the whole suite. Services live in tests/plugins/, one per service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hramba.config import Settings, load_settings
from hramba.core.types import FixedClock
from hramba.services.context import Archive
from hramba.services.tenants import NewTenant, add_tenant
from hramba.wiring import init_archive

pytest_plugins = ["plugins.services", "plugins.postgres", "plugins.s3", "plugins.tsa",
                  "plugins.bouncycastle", "plugins.sftp", "plugins.feedserver",
                  "plugins.browser", "plugins.portal", "plugins.signing", "plugins.smtp",
                  "plugins.seaweed_cluster", "plugins.stall"]

TENANT = NewTenant("OBCINA1", "SI21423512", "Občina Primer", "production",
                   address="Trg svobode 1, 1000 Ljubljana", responsible="Ana Župan")
NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the services it needs (pg, s3, sftp, tsa, smtp), so that
    `pytest -m "not (pg or s3 or sftp or tsa or browser or smtp)"` starts none of them."""
    from plugins.services import service_markers  # a plugin: pytest imports it after us

    for item in items:
        callspec = getattr(item, "callspec", None)
        needed = service_markers(getattr(item, "fixturenames", ()),
                                 callspec.params if callspec else {})
        for marker in sorted(needed):
            item.add_marker(marker)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["sqlite-localfs", "postgres-s3"])
def profile_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of one archive on each profile: the embedded default and production."""
    env: dict[str, str] = {}
    if request.param == "postgres-s3":
        env.update(request.getfixturevalue("pg_database_env"))
        env.update(request.getfixturevalue("s3_env"))
    return load_settings(home=str(tmp_path / "home"), environ=env)


@pytest.fixture
def archive(profile_settings: Settings, clock: FixedClock) -> Iterator[Archive]:
    archive = init_archive(profile_settings, clock)
    add_tenant(archive, TENANT)
    yield archive
    archive.close()
