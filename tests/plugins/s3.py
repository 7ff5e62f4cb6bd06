"""S3 server over HTTP on loopback (filled in below)."""

from __future__ import annotations

import pytest

from .services import missing


@pytest.fixture(scope="session")
def s3_server() -> None:
    missing("S3 server plugin not written yet")


@pytest.fixture
def s3_env(s3_server: None) -> dict[str, str]:
    return {}


@pytest.fixture
def s3_store(s3_server: None) -> None:
    return None
