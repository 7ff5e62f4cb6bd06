from __future__ import annotations

from pathlib import Path

import pytest

from hramba.config import NotifySettings, load_settings
from hramba.core.errors import ConfigurationError


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hramba.toml"
    path.write_text(text)
    return str(path)


def test_defaults_are_the_embedded_profile(tmp_path: Path) -> None:
    s = load_settings(home=str(tmp_path), environ={})
    assert s.database_url == f"sqlite:///{tmp_path / 'hramba.db'}"
    assert (s.storage.kind, s.storage.path) == ("localfs", tmp_path / "objects")


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config = write(tmp_path, 'home = "/from/file"\n[database]\nurl = "sqlite:///file.db"\n'
                             '[storage]\nbucket = "from-file"\n')
    env = {"HRAMBA_CONFIG": config, "HRAMBA_STORAGE_BUCKET": "from-env",
           "HRAMBA_HOME": "/from/env"}
    s = load_settings(environ=env)
    assert (s.database_url, s.storage.bucket, str(s.home)) == (
        "sqlite:///file.db", "from-env", "/from/env")
    assert str(load_settings(home=str(tmp_path), environ=env).home) == str(tmp_path)


@pytest.mark.parametrize(("text", "message"), [
    ('[storage]\nbukcet = "x"\n', "unknown key 'storage.bukcet'"),
    ('[storage]\nsecure = "yes"\n', "storage.secure must be a bool"),
    ('[storage]\nkind = "ftp"\n', "storage.kind must be one of localfs, s3"),
    ('[storage]\nkind = "s3"\nendpoint = "h:9000"\naccess_key = "a"\n',
     "storage.secret_key or storage.secret_key_file is required"),
    ("not toml at all", "hramba.toml"),
])
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_bad_boolean_in_environment_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="HRAMBA_STORAGE_SECURE"):
        load_settings(environ={"HRAMBA_STORAGE_SECURE": "maybe"})


def test_missing_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(str(tmp_path / "absent.toml"), environ={})


def test_secrets_stay_out_of_repr_and_public_view(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t\n")
    key_password = tmp_path / "key-password"
    env = {"HRAMBA_STORAGE_KIND": "s3", "HRAMBA_STORAGE_ENDPOINT": "h:9000",
           "HRAMBA_STORAGE_ACCESS_KEY": "a", "HRAMBA_STORAGE_SECRET_KEY_FILE": str(secret_file),
           "HRAMBA_DATABASE_URL": "postgresql+psycopg://u:dbpass@h/db",
           "HRAMBA_SIGNING_KEY": "k.pem", "HRAMBA_SIGNING_CERTIFICATE": "c.pem",
           "HRAMBA_SIGNING_KEY_PASSWORD_FILE": str(key_password)}
    key_password.write_text("pecat-geslo\n")
    s = load_settings(environ=env)
    assert s.storage.secret_key == "s3cr3t"
    assert s.signing.key_password == "pecat-geslo"
    for text in (repr(s), str(s.public())):
        assert "s3cr3t" not in text
        assert "dbpass" not in text
        assert "pecat-geslo" not in text


def test_notify_settings_parse_with_the_password_from_its_file(tmp_path: Path) -> None:
    assert load_settings(environ={}).notify == NotifySettings()  # no server: none used
    password = tmp_path / "smtp-password"
    password.write_text("geslo-čšž\n")
    config = write(tmp_path, '[notify]\nsmtp_host = "mail.example.si"\nsmtp_port = 587\n'
                             'sender = "e-hramba@example.si"\nstarttls = true\n'
                             f'username = "hramba"\npassword_file = "{password}"\n')
    s = load_settings(config, environ={"HRAMBA_NOTIFY_TIMEOUT": "5"})
    assert s.notify == NotifySettings("mail.example.si", 587, "e-hramba@example.si", True,
                                      "hramba", "geslo-čšž", 5)
    assert "geslo" not in repr(s.notify)
    assert "geslo" not in str(s.public())
    assert s.public()["notify"]["smtp_port"] == 587


@pytest.mark.parametrize(("env", "message"), [
    ({"HRAMBA_NOTIFY_SMTP_HOST": "h", "HRAMBA_NOTIFY_SMTP_PORT": "0"},
     "notify.smtp_port must be from 1 to 65535"),
    ({"HRAMBA_NOTIFY_SMTP_HOST": "h", "HRAMBA_NOTIFY_SMTP_PORT": "65536"}, "notify.smtp_port"),
    ({"HRAMBA_NOTIFY_SMTP_PORT": "x"}, "HRAMBA_NOTIFY_SMTP_PORT must be a whole number"),
    ({"HRAMBA_NOTIFY_STARTTLS": "true"}, "notify.starttls needs notify.smtp_host"),
    ({"HRAMBA_NOTIFY_SMTP_HOST": "smtp://h"}, "notify.smtp_host must be a host name"),
    ({"HRAMBA_NOTIFY_SENDER": "e-hramba@x.si\r\nBcc: y@z.si"}, "notify.sender"),
    ({"HRAMBA_NOTIFY_SMTP_HOST": "h", "HRAMBA_NOTIFY_USERNAME": "u"},
     "notify.username and notify.password_file go together"),
    ({"HRAMBA_NOTIFY_SMTP_HOST": "h", "HRAMBA_NOTIFY_USERNAME": "u",
      "HRAMBA_NOTIFY_PASSWORD_FILE": "/dev/null"}, "notify.username needs notify.starttls"),
    ({"HRAMBA_NOTIFY_SMTP_HOST": "h", "HRAMBA_NOTIFY_TIMEOUT": "0"},
     "notify.timeout must be at least 1"),
])
def test_bad_notify_settings_name_the_key(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(environ=env)


def test_urls_in_the_public_view_have_no_credentials(tmp_path: Path) -> None:
    env = {"HRAMBA_DATABASE_URL": "postgresql+psycopg://u@h/db?password=q-dbpass",
           "HRAMBA_FEED_URL": "https://feeduser:feed-pw@feed.example.si/x?token=feed-token",
           "HRAMBA_TSA_URL": "https://tsauser:tsa-pw@tsa.example.si/tsa?apikey=tsa-key",
           "HRAMBA_TSA_TRUST_ANCHORS": "anchors.pem"}
    public = load_settings(home=str(tmp_path), environ=env).public()
    assert public["database_url"] == "postgresql+psycopg://u@h/db?password=***"
    assert public["feed"]["url"] == "https://feeduser:***@feed.example.si/x?token=***"
    assert public["tsa"]["url"] == "https://tsauser:***@tsa.example.si/tsa?apikey=***"


@pytest.mark.parametrize(("env", "message"), [
    ({"HRAMBA_DATABASE_URL": "postgresql+psycopg://u:db-pw@h:notaport/db"},
     r"database.url must be a URL .* not 'postgresql\+psycopg://u:\*\*\*@h:notaport/db'"),
    ({"HRAMBA_DATABASE_URL": "foo://x"}, "database.url: 'foo' is not supported; use one of "
                                         "sqlite, sqlite.pysqlite, postgresql, postgresql.psycopg"),
    ({"HRAMBA_DATABASE_URL": "postgresql+psycopg2://u:db-pw@h/db"},
     "database.url: 'postgresql.psycopg2' is not supported"),
    ({"HRAMBA_DATABASE_URL": "not a url"}, "database.url must be a URL"),
    ({"HRAMBA_DATABASE_URL": "postgresql://h:70000/db"}, "database.url: the port must be"),
    ({"HRAMBA_STORAGE_ENDPOINT": "ak:db-pw@127.0.0.1:9000"},
     "storage.endpoint must be host:port without credentials"),
    ({"HRAMBA_STORAGE_ENDPOINT": "http://ak:db-pw@127.0.0.1:9000"},
     "storage.endpoint must be host:port without credentials"),
    ({"HRAMBA_STORAGE_ENDPOINT": "http://127.0.0.1:9000"}, "storage.endpoint must be host:port"),
    ({"HRAMBA_STORAGE_ENDPOINT": "127.0.0.1:9000/bucket"}, "storage.endpoint must be host:port"),
    ({"HRAMBA_STORAGE_ENDPOINT": "127.0.0.1:notaport"}, "storage.endpoint must be host:port"),
    ({"HRAMBA_FEED_URL": "http://u:db-pw@h:x/"}, "feed.url must be an http"),
])
def test_bad_urls_name_the_key_and_keep_the_secret(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        load_settings(environ=env)
    assert "db-pw" not in str(raised.value)


def test_good_database_urls_and_endpoints_pass() -> None:
    for url in ("sqlite:///x.db", "sqlite+pysqlite:///x.db", "postgresql://u@h:5432/db",
                "postgresql+psycopg://u:pw@[::1]/db"):
        assert load_settings(environ={"HRAMBA_DATABASE_URL": url}).database_url == url
    for endpoint in ("minio:9000", "127.0.0.1", "[::1]:9000", "s3.example.si"):
        s = load_settings(environ={"HRAMBA_STORAGE_ENDPOINT": endpoint})
        assert s.storage.endpoint == endpoint


def test_feed_allowed_origins_are_origins_and_nothing_more() -> None:
    env = {"HRAMBA_FEED_ALLOWED_ORIGINS": "https://cdn.example.si, http://127.0.0.1:8080/"}
    assert load_settings(environ=env).feed.allowed_origins == (
        "https://cdn.example.si", "http://127.0.0.1:8080/")
    for bad in ("ftp://cdn.example.si", "https://cdn.example.si/path", "https://u:pw@cdn.si",
                "https://cdn.si:notaport", "https://cdn.si/?x=1"):
        with pytest.raises(ConfigurationError, match=r"feed\.allowed_origins") as raised:
            load_settings(environ={"HRAMBA_FEED_ALLOWED_ORIGINS": bad})
        assert "pw" not in str(raised.value)
