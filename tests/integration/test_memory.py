"""Memory per batch (issue #16): a large invoice is never held whole, nor its tree, nor its
attachment's text several times over, and a batch of large ones holds about one at a time.

Each ingest runs as the CLI in a child process, which reports its own peak RSS (VmHWM:
wait4's figure would count the pages of this process that the child was forked with). On
main before the fix one 60 MB e-SLOG invoice of many lines took 832 MB, one UBL invoice
embedding a 45 MB attachment (64 MB of XML) 412 MB.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env

from hramba.services.corpus import invoice

pytestmark = pytest.mark.slow

BUYER = ("Občina Spomin", "SI21423512")
MB = 1_000_000
_UBL_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>BIG-{n}</cbc:ID><cbc:IssueDate>2026-03-01</cbc:IssueDate>
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 <cac:AdditionalDocumentReference><cbc:ID>1</cbc:ID><cac:Attachment>
 <cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="Priloga{n}.pdf">"""
_UBL_TAIL = """</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>
 </cac:AdditionalDocumentReference>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyTaxScheme>
 <cbc:CompanyID>SI21423512</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
 </cac:PartyTaxScheme></cac:Party></cac:AccountingCustomerParty>
 <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">100.00</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
</Invoice>
"""


def _many_lines(path: Path, n: int) -> None:
    """An e-SLOG 2.0 invoice of 60 MB: a million elements in its lines."""
    path.write_bytes(invoice(n, random.Random(n), BUYER, 60 * MB, 60 * MB))


def _embedding(path: Path, n: int) -> None:
    """A UBL invoice of 64 MB embedding a 45 MiB attachment in base64 lines."""
    pdf = b"%PDF-1.4\n" + random.Random(n).randbytes(45 * 1024 * 1024) + b"\n%%EOF\n"
    path.write_bytes(_UBL_HEAD.format(n=n).encode() + base64.encodebytes(pdf)
                     + _UBL_TAIL.encode())


# The console script's entry point, run so that the peak is written to stderr at exit.
_MEASURED = """import atexit, re, sys
from hramba.cli.main import run
def peak():
    status = open("/proc/self/status").read()
    print("VmHWM", re.search(r"VmHWM:\\s+(\\d+) kB", status)[1], file=sys.stderr)
atexit.register(peak)
sys.argv[0] = "hramba"
run()
"""


def _peak_rss_mb(cli: Cli, folder: Path) -> tuple[float, dict[str, int]]:
    """Peak RSS of `hramba ingest dir folder` and its counts."""
    proc = subprocess.run([sys.executable, "-c", _MEASURED, "--home", str(cli.home), "ingest",
                           "dir", str(folder), "--tenant", "MEM", "--json"], env=cli.env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    peak = re.search(r"^VmHWM (\d+)$", proc.stderr, re.MULTILINE)
    assert peak is not None, proc.stderr
    result = json.loads(proc.stdout)
    return int(peak[1]) / 1024, {k: result[k] for k in ("archived", "quarantined")}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path / "home", clean_env())
    cli("init")
    cli("tenant", "add", "MEM", "--tax-number", BUYER[1], "--name", BUYER[0])
    return cli


def test_an_invoice_of_many_lines_is_not_held_as_its_whole_tree(cli: Cli,
                                                                tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    _many_lines(tmp_path / "in" / "big.xml", 1)
    peak, counts = _peak_rss_mb(cli, tmp_path / "in")
    assert counts == {"archived": 1, "quarantined": 0}
    assert peak < 250, f"peak RSS {peak:.0f} MB for one 60 MB invoice"
    assert "2026-000001" in cli("search", "--number", "2026-000001", "--json").out


def test_embedded_attachments_cost_a_few_copies_and_a_batch_holds_about_one(
        cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    _embedding(tmp_path / "one" / "a.xml", 1)
    for n in (2, 3, 4):
        _embedding(tmp_path / "three" / f"{n}.xml", n)
    one, counts = _peak_rss_mb(cli, tmp_path / "one")
    assert counts == {"archived": 1, "quarantined": 0}
    three, counts = _peak_rss_mb(cli, tmp_path / "three")
    assert counts == {"archived": 3, "quarantined": 0}
    assert one < 360, f"peak RSS {one:.0f} MB for one 64 MB invoice"
    assert three < one * 1.25, f"{three:.0f} MB for three, {one:.0f} MB for one"
