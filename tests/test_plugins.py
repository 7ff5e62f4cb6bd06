"""The suite's own plumbing: the service markers of each test, the samples' skip reason."""

from __future__ import annotations

from pathlib import Path

import plugins.services
import pytest
from plugins import browser, postgres, s3, sftp, smtp, tsa
from plugins.samples import samples_dir
from plugins.services import SERVICE_FIXTURES, service_markers


@pytest.mark.parametrize(("fixturenames", "params", "markers"), [
    (["tmp_path", "clock"], {}, set()),
    (["pg_database_env", "pg_url", "pg_template"], {}, {"pg"}),
    (["s3_store", "s3_server"], {}, {"s3"}),
    (["wrong_host_key", "sftp_server", "tmp_path"], {}, {"sftp"}),
    (["short_lived_tsa", "tsa_servers"], {}, {"tsa"}),
    (["smtp", "smtp_server"], {}, {"smtp"}),
    (["archive", "profile_settings"], {"profile_settings": "postgres-s3"}, {"pg", "s3"}),
    (["archive", "profile_settings"], {"profile_settings": "sqlite-localfs"}, set()),
    (["url"], {"url": "postgresql"}, {"pg"}),
    (["url"], {"url": "sqlite"}, set()),
    (["store"], {"store": "s3"}, {"s3"}),
    (["store"], {"store": "localfs"}, set()),
    (["local_archive", "tsa_servers"], {"local_archive": "postgres"}, {"pg", "tsa"}),
    (["any_tsa"], {"any_tsa": "untrusted_tsa"}, {"tsa"}),
    (["n"], {"n": 3}, set()),
])
def test_services_come_from_the_fixture_closure_and_the_params(
        fixturenames: list[str], params: dict[str, object], markers: set[str]) -> None:
    assert service_markers(fixturenames, params) == markers


def test_each_service_has_its_declared_marker_and_its_fixture(
        pytestconfig: pytest.Config) -> None:
    declared = {line.split(":", 1)[0] for line in pytestconfig.getini("markers")}
    for marker, fixture in SERVICE_FIXTURES.items():
        assert marker in declared
        plugins_ = (postgres, s3, sftp, tsa, browser, smtp)
        assert any(hasattr(plugin, fixture) for plugin in plugins_), fixture


def test_every_collected_test_carries_the_markers_of_its_services(
        request: pytest.FixtureRequest) -> None:
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        needed = service_markers(getattr(item, "fixturenames", ()),
                                 callspec.params if callspec else {})
        assert needed <= {mark.name for mark in item.iter_markers()}, item.nodeid


def test_absent_samples_skip_locally_naming_the_path_and_why(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("plugins.samples.SAMPLES", tmp_path / "absent")
    monkeypatch.setattr(plugins.services, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        samples_dir()
    assert str(tmp_path / "absent") in str(skipped.value)
    assert "sample-based tests read" in str(skipped.value)
    assert "../shared/samples" in str(skipped.value)


def test_absent_samples_fail_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("plugins.samples.SAMPLES", tmp_path / "absent")
    monkeypatch.setattr(plugins.services, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="service missing under CI"):
        samples_dir()
