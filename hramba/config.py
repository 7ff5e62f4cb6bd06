"""Settings: a TOML file plus HRAMBA_* environment overrides, validated once at the edge.

Precedence: built-in defaults < TOML file (`--config` or HRAMBA_CONFIG) < environment
(HRAMBA_<SECTION>_<KEY>, e.g. HRAMBA_DATABASE_URL) < command-line options (`--home`).
With nothing set, the embedded profile lives under ./hramba-data: SQLite, a local
object store and (from issue #3) a local development TSA.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hramba.core.errors import ConfigurationError
from hramba.core.redact import redact_url
from hramba.domain.mail import plain_address

DEFAULT_HOME = "hramba-data"

# key -> (type, default). Dotted keys are [section] key in TOML.
SCHEMA: dict[str, tuple[type, Any]] = {
    "home": (str, DEFAULT_HOME),
    "archive.name": (str, "e-hramba"),
    "database.url": (str, ""),
    "database.timeout": (int, 8),
    "storage.kind": (str, "localfs"),
    "storage.path": (str, ""),
    "storage.endpoint": (str, ""),
    "storage.bucket": (str, "hramba-units"),
    "storage.access_key": (str, ""),
    "storage.secret_key": (str, ""),
    "storage.secret_key_file": (str, ""),
    "storage.secure": (bool, True),
    "storage.region": (str, ""),
    "storage.test_bucket": (str, ""),
    "storage.test_path": (str, ""),
    "storage.test_lock_days": (int, 0),
    "storage.timeout": (int, 10),
    "tsa.url": (str, ""),
    "tsa.username": (str, ""),
    "tsa.password_file": (str, ""),
    "tsa.trust_anchors": (str, ""),
    "tsa.policy": (str, ""),
    "tsa.accepted_policies": (str, ""),
    "tsa.development": (bool, False),
    "tsa.accept_unqualified": (bool, False),
    "tsa.timeout": (int, 20),
    "signing.key": (str, ""),
    "signing.certificate": (str, ""),
    "signing.key_password_file": (str, ""),
    "signing.development": (bool, False),
    "seal.batch_size": (int, 10_000),
    "seal.algorithm": (str, "sha256"),
    "renew.margin_days": (int, 365),
    "renew.weak_algorithms": (str, ""),
    "renew.weak_signatures": (str, "md5_rsa,sha1_rsa,sha1_dsa,sha1_ecdsa"),
    "renew.min_rsa_bits": (int, 2048),
    "renew.min_ec_bits": (int, 256),
    "feed.inbox": (str, ""),
    "feed.url": (str, ""),
    "feed.interval": (int, 60),
    "feed.max_attempts": (int, 3),
    "feed.allowed_origins": (str, ""),
    "intake.xsd_dir": (str, ""),
    "signatures.trust_roots": (str, ""),
    "signatures.fetch_revocation": (bool, False),
    "retention.minimum_lock_days": (int, 365),
    "exports.max_units": (int, 10_000),
    "exports.over_limit": (str, "approve"),
    "exports.link_days": (int, 7),
    "scheduler.timezone": (str, "Europe/Ljubljana"),
    "scheduler.feed": (str, "*/5 * * * *"),
    "scheduler.seal": (str, "15 * * * *"),
    "scheduler.fixity": (str, "30 1 * * *"),
    "scheduler.retention": (str, "30 3 * * *"),
    "scheduler.renewal": (str, "0 3 * * 0"),
    "scheduler.exports": (str, "*/10 * * * *"),
    "scheduler.reports": (str, "0 5 * * *"),
    "scheduler.fixity_period_days": (int, 90),
    "notify.smtp_host": (str, ""),
    "notify.smtp_port": (int, 25),
    "notify.sender": (str, "e-hramba@localhost"),
    "notify.starttls": (bool, False),
    "notify.username": (str, ""),
    "notify.password_file": (str, ""),
    "notify.timeout": (int, 10),
}
JOBS = ("feed", "seal", "fixity", "retention", "renewal", "exports", "reports")
OVER_LIMIT = ("approve", "refuse")
SEAL_ALGORITHMS = ("sha256", "sha384", "sha512")
STORAGE_KINDS = ("localfs", "s3")
# SQLAlchemy URL schemes with their driver installed (pyproject: psycopg 3, not psycopg2).
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


def env_name(key: str) -> str:
    return "HRAMBA_" + key.replace(".", "_").upper()


@dataclass(frozen=True)
class StorageSettings:
    kind: str
    path: Path
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    secure: bool
    region: str
    # Test tenants' objects: their own bucket or folder, locked at most this many days.
    test_bucket: str
    test_path: Path
    test_lock_days: int
    timeout: int = 10  # seconds per connection and per read (storage.s3 bounds retries)


@dataclass(frozen=True)
class TsaSettings:
    """Empty url: the development TSA under <home>/tsa (embedded default, not qualified)."""

    url: str
    username: str
    password: str = field(repr=False)
    trust_anchors: Path
    policy: str
    accepted_policies: tuple[str, ...]
    development: bool  # may production seal with the development TSA?
    accept_unqualified: bool
    timeout: int
    batch_size: int
    algorithm: str
    renew_margin_days: int
    weak_algorithms: tuple[str, ...]
    weak_signatures: tuple[str, ...] = ()
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256


@dataclass(frozen=True)
class SigningSettings:
    """The key and certificate that sign the archive's PDFs (export summaries, reports).
    None: the development signing key under <home>/signing (embedded default, not
    qualified)."""

    key: Path | None = None
    certificate: Path | None = None  # PEM: the certificate, then its chain to the root
    key_password: str = field(default="", repr=False)
    development: bool = False  # may production sign with the development key?


@dataclass(frozen=True)
class FeedSettings:
    """Exchange feed sources; either may be empty."""

    inbox: Path | None
    url: str
    interval: int
    max_attempts: int = 3
    allowed_origins: tuple[str, ...] = ()  # beyond feed.url's own, where items may be


@dataclass(frozen=True)
class SchedulerSettings:
    """Cron expressions (5 fields, in `timezone`) per job; an empty one disables it."""

    schedules: dict[str, str] = field(default_factory=dict)
    timezone: str = "Europe/Ljubljana"
    fixity_period_days: int = 90


@dataclass(frozen=True)
class ExportSettings:
    max_units: int = 10_000  # more in one request: approval (or refusal, over_limit)
    over_limit: str = "approve"
    link_days: int = 7


@dataclass(frozen=True)
class NotifySettings:
    """The SMTP server that tells budget users of the hand-over steps. An empty smtp_host:
    none; notifications then wait, unsent, saying so, until one is configured."""

    smtp_host: str = ""
    smtp_port: int = 25
    sender: str = "e-hramba@localhost"  # From (its display name: archive.name)
    starttls: bool = False  # encrypt before anything is sent, or send nothing
    username: str = ""  # log in (inside STARTTLS only) when set
    password: str = field(default="", repr=False)
    timeout: int = 10  # seconds per connection and reply


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str = field(repr=False)  # may carry a password
    storage: StorageSettings
    tsa: TsaSettings
    source: str
    feed: FeedSettings = FeedSettings(None, "", 60, 3)
    xsd_dir: Path | None = None  # e-SLOG XSDs (local files only) for intake validation
    signature_roots: Path | None = None  # CA certificates signatures at intake chain to
    fetch_revocation: bool = False  # may intake ask OCSP responders and CRLs over HTTP?
    minimum_lock_days: int = 365
    scheduler: SchedulerSettings = SchedulerSettings()
    signing: SigningSettings = SigningSettings()
    exports: ExportSettings = ExportSettings()
    archive_name: str = "e-hramba"
    notify: NotifySettings = NotifySettings()
    database_timeout: int = 8  # seconds: hramba.db.engine's bounds on a stalled server

    @property
    def embedded(self) -> bool:
        """SQLite and the local store: the profile that may seal with the development TSA."""
        return self.database_url.startswith("sqlite") and self.storage.kind == "localfs"

    def public(self) -> dict[str, Any]:
        """The effective settings without secrets: for audit events and `config show`."""
        return {
            "home": str(self.home),
            "archive": {"name": self.archive_name},
            "exports": {"max_units": self.exports.max_units,
                        "over_limit": self.exports.over_limit,
                        "link_days": self.exports.link_days},
            "database_url": redact_url(self.database_url),
            "database_timeout": self.database_timeout,
            "storage": {"kind": self.storage.kind, "path": str(self.storage.path),
                        "endpoint": self.storage.endpoint, "bucket": self.storage.bucket,
                        "secure": self.storage.secure, "region": self.storage.region,
                        "test_bucket": self.storage.test_bucket,
                        "test_path": str(self.storage.test_path),
                        "test_lock_days": self.storage.test_lock_days,
                        "timeout": self.storage.timeout},
            "feed": {"inbox": str(self.feed.inbox or ""), "url": redact_url(self.feed.url),
                     "interval": self.feed.interval, "max_attempts": self.feed.max_attempts,
                     "allowed_origins": list(self.feed.allowed_origins)},
            "intake": {"xsd_dir": str(self.xsd_dir or "")},
            "signatures": {"trust_roots": str(self.signature_roots or ""),
                           "fetch_revocation": self.fetch_revocation},
            "retention": {"minimum_lock_days": self.minimum_lock_days},
            "scheduler": {**self.scheduler.schedules, "timezone": self.scheduler.timezone,
                          "fixity_period_days": self.scheduler.fixity_period_days},
            "tsa": {"url": redact_url(self.tsa.url) or "development TSA (not qualified)",
                    "trust_anchors": str(self.tsa.trust_anchors), "policy": self.tsa.policy,
                    "accepted_policies": list(self.tsa.accepted_policies),
                    "development": self.tsa.development,
                    "accept_unqualified": self.tsa.accept_unqualified,
                    "timeout": self.tsa.timeout,
                    "batch_size": self.tsa.batch_size, "algorithm": self.tsa.algorithm,
                    "renew_margin_days": self.tsa.renew_margin_days,
                    "weak_algorithms": list(self.tsa.weak_algorithms),
                    "weak_signatures": list(self.tsa.weak_signatures),
                    "min_rsa_bits": self.tsa.min_rsa_bits,
                    "min_ec_bits": self.tsa.min_ec_bits},
            "signing": {"key": str(self.signing.key or "development signing key "
                                                      "(not qualified)"),
                        "certificate": str(self.signing.certificate or ""),
                        "development": self.signing.development},
            "notify": {"smtp_host": self.notify.smtp_host, "smtp_port": self.notify.smtp_port,
                       "sender": self.notify.sender, "starttls": self.notify.starttls,
                       "username": self.notify.username, "timeout": self.notify.timeout},
        }


def load_settings(config_path: str | None = None, home: str | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate settings; every error names the offending key."""
    environ = os.environ if environ is None else environ
    path = config_path or environ.get("HRAMBA_CONFIG") or None
    values = {key: default for key, (_, default) in SCHEMA.items()}
    if path:
        values.update(_read_toml(Path(path)))
    for key, (kind, _) in SCHEMA.items():
        if env_name(key) in environ:
            values[key] = _from_env(key, kind, environ[env_name(key)])
    if home:
        values["home"] = home
    return _build(values, source=path or "defaults")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"config file {path}: {exc}") from exc
    flat: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            flat.update({f"{name}.{k}": v for k, v in value.items()})
        else:
            flat[name] = value
    for key, value in flat.items():
        if key not in SCHEMA:
            raise ConfigurationError(f"{path}: unknown key {key!r}")
        kind = SCHEMA[key][0]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigurationError(f"{path}: {key} must be a {kind.__name__}")
    return flat


def _from_env(key: str, kind: type, raw: str) -> Any:
    if kind is bool:
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ConfigurationError(f"{env_name(key)} must be true or false")
        return raw.lower() in ("1", "true", "yes")
    if kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{env_name(key)} must be a whole number") from exc
    return raw


def _build(v: dict[str, Any], source: str) -> Settings:
    home = Path(v["home"]).expanduser().absolute()
    return Settings(
        home=home,
        database_url=_database_url(v["database.url"] or f"sqlite:///{home / 'hramba.db'}"),
        storage=_storage(v, home), tsa=_tsa(v, home), source=source,
        feed=FeedSettings(Path(v["feed.inbox"]).expanduser().absolute() if v["feed.inbox"]
                          else None, _url("feed.url", v), v["feed.interval"],
                          _at_least("feed.max_attempts", v, 1),
                          _origins(_split(v["feed.allowed_origins"]))),
        xsd_dir=Path(v["intake.xsd_dir"]).expanduser().absolute() if v["intake.xsd_dir"]
        else None,
        signature_roots=Path(v["signatures.trust_roots"]).expanduser().absolute()
        if v["signatures.trust_roots"] else None,
        fetch_revocation=v["signatures.fetch_revocation"],
        minimum_lock_days=_at_least("retention.minimum_lock_days", v, 1),
        scheduler=_scheduler(v), signing=_signing(v), exports=_exports(v),
        archive_name=v["archive.name"].strip() or "e-hramba", notify=_notify(v),
        database_timeout=_at_least("database.timeout", v, 1))


def _database_url(url: str) -> str:
    """database.url, checked when read: a bad one would otherwise surface as a traceback
    at the first connection (a port that is no number, a driver we do not have)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigurationError(f"database.url must be a URL such as postgresql+psycopg://"
                                 f"user@host:5432/db (a port is a number), not "
                                 f"{redact_url(url)!r}") from exc
    if parsed.drivername not in DATABASE_DRIVERS:
        raise ConfigurationError(f"database.url: {parsed.drivername!r} is not supported; use "
                                 f"one of {', '.join(DATABASE_DRIVERS)}")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise ConfigurationError("database.url: the port must be from 1 to 65535")
    return url


def _notify(v: dict[str, Any]) -> NotifySettings:
    host = v["notify.smtp_host"].strip()
    if any(c.isspace() or c == "/" for c in host):
        raise ConfigurationError(f"notify.smtp_host must be a host name or address, not {host!r}")
    if not 1 <= v["notify.smtp_port"] <= 65535:
        raise ConfigurationError("notify.smtp_port must be from 1 to 65535")
    sender = plain_address(v["notify.sender"])
    if sender is None:
        raise ConfigurationError(f"notify.sender must be a plain e-mail address "
                                 f"(local@domain), not {v['notify.sender']!r}")
    for key in ("starttls", "username", "password_file"):
        if v[f"notify.{key}"] and not host:
            raise ConfigurationError(f"notify.{key} needs notify.smtp_host")
    if bool(v["notify.username"]) != bool(v["notify.password_file"]):
        raise ConfigurationError("notify.username and notify.password_file go together")
    if v["notify.username"] and not v["notify.starttls"]:
        raise ConfigurationError("notify.username needs notify.starttls = true: the password "
                                 "is never sent unencrypted")
    password = (_read_secret("notify.password_file", v["notify.password_file"])
                if v["notify.password_file"] else "")
    return NotifySettings(host, v["notify.smtp_port"], sender, v["notify.starttls"],
                          v["notify.username"], password, _at_least("notify.timeout", v, 1))


def _exports(v: dict[str, Any]) -> ExportSettings:
    if v["exports.over_limit"] not in OVER_LIMIT:
        raise ConfigurationError(f"exports.over_limit must be one of {', '.join(OVER_LIMIT)}, "
                                 f"not {v['exports.over_limit']!r}")
    days = _at_least("exports.link_days", v, 1)
    if days > 7:
        raise ConfigurationError("exports.link_days must be at most 7 (S3 presigned links "
                                 "last no longer)")
    return ExportSettings(_at_least("exports.max_units", v, 1), v["exports.over_limit"], days)


def _storage(v: dict[str, Any], home: Path) -> StorageSettings:
    if v["storage.kind"] not in STORAGE_KINDS:
        raise ConfigurationError(
            f"storage.kind must be one of {', '.join(STORAGE_KINDS)}, not {v['storage.kind']!r}")
    secret = v["storage.secret_key"]
    if v["storage.secret_key_file"]:
        secret = _read_secret("storage.secret_key_file", v["storage.secret_key_file"])
    path = (Path(v["storage.path"]).expanduser().absolute() if v["storage.path"]
            else home / "objects")
    storage = StorageSettings(
        kind=v["storage.kind"], path=path,
        endpoint=_endpoint(v["storage.endpoint"].strip()), bucket=v["storage.bucket"],
        access_key=v["storage.access_key"], secret_key=secret,
        secure=v["storage.secure"], region=v["storage.region"],
        test_bucket=v["storage.test_bucket"] or f"{v['storage.bucket']}-test",
        test_path=(Path(v["storage.test_path"]).expanduser().absolute()
                   if v["storage.test_path"] else path.with_name(f"{path.name}-test")),
        test_lock_days=_at_least("storage.test_lock_days", v, 0),
        timeout=_at_least("storage.timeout", v, 1))
    if storage.test_bucket == storage.bucket or storage.test_path == storage.path:
        raise ConfigurationError("storage.test_bucket and storage.test_path must differ from "
                                 "storage.bucket and storage.path: test tenants' objects are "
                                 "kept apart from production's")
    if storage.kind == "s3":
        for key in ("endpoint", "bucket", "access_key"):
            if not getattr(storage, key):
                raise ConfigurationError(f"storage.{key} is required when storage.kind = 's3'")
        if not secret:
            raise ConfigurationError("storage.secret_key or storage.secret_key_file is required "
                                     "when storage.kind = 's3'")
    return storage


def _endpoint(endpoint: str) -> str:
    """storage.endpoint as the S3 SDK takes it: host or host:port, nothing more."""
    if "@" in endpoint:  # not echoed: what precedes the @ is likely a secret key
        raise ConfigurationError("storage.endpoint must be host:port without credentials: "
                                 "they belong in storage.access_key and storage.secret_key_file")
    parts = _parts(f"//{endpoint}")
    if endpoint and not (parts and parts.netloc == endpoint and parts.hostname):
        raise ConfigurationError(f"storage.endpoint must be host:port (storage.secure says "
                                 f"https or http), not {endpoint!r}")
    return endpoint


def _parts(url: str) -> SplitResult | None:
    """The URL's parts, or None when its port is no number (or 0)."""
    try:
        parts = urlsplit(url)
        return parts if parts.port != 0 else None
    except ValueError:
        return None


def _url(key: str, v: dict[str, Any]) -> str:
    """An http(s) URL with a host, or empty."""
    url = str(v[key]).strip()
    parts = _parts(url)
    if url and not (parts and parts.scheme in ("http", "https") and parts.hostname):
        raise ConfigurationError(f"{key} must be an http(s) URL with a host, not "
                                 f"{redact_url(url)!r}")
    return url


def _at_least(key: str, v: dict[str, Any], minimum: int) -> int:
    if v[key] < minimum:
        raise ConfigurationError(f"{key} must be at least {minimum}")
    return int(v[key])


def _scheduler(v: dict[str, Any]) -> SchedulerSettings:
    try:
        ZoneInfo(v["scheduler.timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"scheduler.timezone {v['scheduler.timezone']!r} is not a "
                                 "known time zone") from exc
    schedules = {job: v[f"scheduler.{job}"].strip() for job in JOBS}
    for job, cron in schedules.items():
        if cron and len(cron.split()) != 5:
            raise ConfigurationError(f"scheduler.{job} must be a cron expression of 5 fields "
                                     f"(minute hour day month weekday) or empty, not {cron!r}")
    return SchedulerSettings(schedules, v["scheduler.timezone"],
                             _at_least("scheduler.fixity_period_days", v, 1))


def _tsa(v: dict[str, Any], home: Path) -> TsaSettings:
    if v["seal.algorithm"] not in SEAL_ALGORITHMS:
        raise ConfigurationError(f"seal.algorithm must be one of {', '.join(SEAL_ALGORITHMS)}")
    if v["seal.batch_size"] < 1 or v["tsa.timeout"] < 1:
        raise ConfigurationError("seal.batch_size and tsa.timeout must be at least 1")
    if v["tsa.url"] and not v["tsa.trust_anchors"]:
        raise ConfigurationError("tsa.trust_anchors (a PEM file) is required with tsa.url")
    password = _read_secret("tsa.password_file", v["tsa.password_file"]) if v[
        "tsa.password_file"] else ""
    anchors = (Path(v["tsa.trust_anchors"]).expanduser().absolute() if v["tsa.trust_anchors"]
               else home / "tsa" / "dev-ca.pem")
    return TsaSettings(url=_url("tsa.url", v), username=v["tsa.username"], password=password,
                       trust_anchors=anchors, policy=v["tsa.policy"],
                       accepted_policies=_split(v["tsa.accepted_policies"]),
                       development=v["tsa.development"],
                       accept_unqualified=v["tsa.accept_unqualified"],
                       timeout=v["tsa.timeout"],
                       batch_size=v["seal.batch_size"], algorithm=v["seal.algorithm"],
                       renew_margin_days=v["renew.margin_days"],
                       weak_algorithms=_split(v["renew.weak_algorithms"]),
                       weak_signatures=_split(v["renew.weak_signatures"]),
                       min_rsa_bits=v["renew.min_rsa_bits"], min_ec_bits=v["renew.min_ec_bits"])


def _signing(v: dict[str, Any]) -> SigningSettings:
    key, certificate = v["signing.key"], v["signing.certificate"]
    if bool(key) != bool(certificate):
        raise ConfigurationError("signing.key and signing.certificate go together: set both "
                                 "(or neither, for the development signing key)")
    if v["signing.key_password_file"] and not key:
        raise ConfigurationError("signing.key_password_file needs signing.key")
    password = (_read_secret("signing.key_password_file", v["signing.key_password_file"])
                if v["signing.key_password_file"] else "")
    return SigningSettings(key=Path(key).expanduser().absolute() if key else None,
                           certificate=Path(certificate).expanduser().absolute()
                           if certificate else None,
                           key_password=password, development=v["signing.development"])


def _origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    """feed.allowed_origins: each `http(s)://host[:port]`, nothing more."""
    for origin in origins:
        parts = _parts(origin)
        if not (parts and parts.scheme in ("http", "https") and parts.hostname
                and "@" not in parts.netloc and parts.path in ("", "/")
                and not parts.query and not parts.fragment):
            raise ConfigurationError("feed.allowed_origins: each must be http(s)://host[:port]"
                                     f" and nothing more, not {redact_url(origin)!r}")
    return origins


def _split(value: str) -> tuple[str, ...]:
    """A comma-separated setting as its items."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _read_secret(key: str, path: str) -> str:
    try:
        return Path(path).read_text("utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"{key} {path}: {exc.strerror}") from exc

