"""What the certificates share: who the creator is, and a signed PDF stored once.

A certificate's PDF is signed with a timestamp, so no two signings give the same bytes: it
is stored under a key of its own (one per disposal or purge), and a run that stopped after
storing it and before recording it finds it there and records that one, never a second.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hramba.core.errors import NotFound
from hramba.core.types import Digest, ObjectKey
from hramba.db.models import Tenant
from hramba.domain.document import PdfDocument
from hramba.services.context import Archive


def creator(session: Session, tenant_id: int) -> dict[str, Any]:
    """The budget user as a certificate names it."""
    tenant = session.get_one(Tenant, tenant_id)
    return {"code": tenant.code, "name": tenant.name, "tax_number": tenant.tax_number,
            "address": tenant.address, "responsible": tenant.responsible}


def store_signed(archive: Archive, key: ObjectKey, document: PdfDocument,
                 retain_until: datetime) -> Digest:
    """The SHA-256 of the signed PDF at `key`: the one stored already, or `document`
    rendered, signed and stored now (WORM until `retain_until`)."""
    try:
        stored = archive.store.stat(key)
    except NotFound:
        stored = None
    if stored is not None:
        if stored.sha256 is not None:
            return stored.sha256
        with archive.store.open(key) as data:
            return Digest.of_bytes(data.read())
    from hramba.trust.pdf import render

    pdf = archive.signing.sign(render(document))
    sha256 = Digest.of_bytes(pdf)
    archive.store.put(key, io.BytesIO(pdf), size=len(pdf), sha256=sha256,
                      retain_until=retain_until)
    archive.store.sync()
    return sha256
