"""What every use case works with; built by hramba.wiring from settings."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hramba.core.types import Clock
from hramba.domain.access import NOBODY, Principal
from hramba.domain.export import ExportRules
from hramba.domain.retention import PolicySet
from hramba.ports import Mailer, ObjectStore, PdfSigner, Timestamper
from hramba.services.policies import shipped_policies
from hramba.trust.report import AlgorithmPolicy, Trust


@dataclass
class Sealing:
    """How batches are timestamped, and what their tokens must chain to."""

    timestamper: Timestamper
    trust: Trust
    algorithm: str = "sha256"
    batch_size: int = 10_000
    renew_margin: timedelta = timedelta(days=365)
    weak_algorithms: tuple[str, ...] = ()
    algorithm_policy: AlgorithmPolicy = field(default_factory=AlgorithmPolicy)


@dataclass
class Archive:
    """One archive: its database, object store, clock, data directory, and who is acting
    (the principal; services refuse what its roles and tenant scope do not allow).

    The store, the sealing configuration and the PDF signer are connected at first use, so
    a command that needs only the database neither waits for nor fails on storage, the
    TSA's files or the signing key (nor imports pyhanko's signer).
    """

    db: sessionmaker[Session]
    connect_store: Callable[[], ObjectStore]
    clock: Clock
    home: Path
    connect_sealing: Callable[[], Sealing]
    connect_signing: Callable[[Sealing], PdfSigner]  # timestamps from the sealing's TSA
    principal: Principal = NOBODY
    xsd_dir: Path | None = None  # validate e-SLOG at intake against these local XSDs
    signature_roots: Path | None = None  # the CAs signatures checked at intake chain to
    fetch_revocation: bool = False  # may those checks ask OCSP responders and CRLs?
    policies: PolicySet = field(default_factory=shipped_policies)
    minimum_lock: timedelta = timedelta(days=365)  # see retention.storage_lock
    exports: ExportRules = field(default_factory=ExportRules)
    name: str = "e-hramba"  # how exports and reports name the archive (archive.name)
    mailer: Mailer | None = None  # notifications' SMTP server; None: they wait, unsent

    @property
    def actor(self) -> str:
        """Who the audit log says acted: the principal's login."""
        return self.principal.login

    def acting_as(self, principal: Principal) -> Archive:
        """The same archive (database, store, sealing and signer shared) acting for
        `principal`: what a server makes of each request."""
        view = copy.copy(self)
        view.principal = principal
        return view

    # cached_property: built at first read, and replaceable by assignment (tests do).
    @cached_property
    def store(self) -> ObjectStore:
        return self.connect_store()

    @cached_property
    def sealing(self) -> Sealing:
        return self.connect_sealing()

    @cached_property
    def signing(self) -> PdfSigner:
        return self.connect_signing(self.sealing)

    def close(self) -> None:
        """Release database connections."""
        bind = self.db.kw.get("bind")
        if bind is not None:
            bind.dispose()
