"""Synthetic e-SLOG 2.0 invoices for the demo and the benchmark (never real data).

The documents follow the e-SLOG 2.0 element layout (urn:eslog:2.00) closely enough for
format detection and metadata extraction; they are not signed and not meant to be valid
tax documents. Sizes are spread over a range by the number of invoice lines.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

# Tax numbers with valid check digits that no test or demo tenant has: every invoice made
# here is one its buyer received, never one a tenant issued.
SELLERS = [("Dobavitelj d.o.o.", "SI15032582"), ("Komunala Primer d.o.o.", "SI68202938"),
           ("Pisarniški material d.d.", "SI63241552")]
ITEMS = ["Pisarniški papir A4", "Toner za tiskalnik", "Storitev čiščenja",
         "Električna energija", "Vzdrževanje programske opreme", "Dobava vode"]

_LINE = """  <G_SG26><S_LIN><D_1082>{n}</D_1082></S_LIN>
   <S_IMD><D_7077>F</D_7077><C_C273><D_7008>{item}</D_7008></C_C273></S_IMD>
   <S_QTY><C_C186><D_6063>47</D_6063><D_6060>{qty}</D_6060><D_6411>H87</D_6411></C_C186></S_QTY>
   <G_SG27><S_MOA><C_C516><D_5025>203</D_5025><D_5004>{net}</D_5004></C_C516></S_MOA></G_SG27>
   <G_SG34><S_TAX><D_5283>7</D_5283><C_C241><D_5153>VAT</D_5153></C_C241><C_C243><D_5278>22.00</D_5278></C_C243><D_5305>S</D_5305></S_TAX></G_SG34>
  </G_SG26>
"""

_INVOICE = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:eslog:2.00">
 <M_INVOIC Id="data">
  <S_UNH><D_0062>{number}</D_0062><C_S009><D_0065>INVOIC</D_0065><D_0052>D</D_0052><D_0054>01B</D_0054><D_0051>UN</D_0051></C_S009></S_UNH>
  <S_BGM><C_C002><D_1001>380</D_1001></C_C002><C_C106><D_1004>{number}</D_1004></C_C106></S_BGM>
  <S_DTM><C_C507><D_2005>137</D_2005><D_2380>{issued}</D_2380></C_C507></S_DTM>
  <G_SG1><S_RFF><C_C506><D_1153>PQ</D_1153><D_1154>SI00 {number}</D_1154></C_C506></S_RFF></G_SG1>
  <G_SG2><S_NAD><D_3035>SE</D_3035><C_C080><D_3036>{seller}</D_3036></C_C080></S_NAD>
   <S_FII><D_3035>RB</D_3035><C_C078><D_3194>SI56020100012345678</D_3194></C_C078></S_FII>
   <G_SG3><S_RFF><C_C506><D_1153>VA</D_1153><D_1154>{seller_vat}</D_1154></C_C506></S_RFF></G_SG3></G_SG2>
  <G_SG2><S_NAD><D_3035>BY</D_3035><C_C080><D_3036>{buyer}</D_3036></C_C080></S_NAD>
   <G_SG3><S_RFF><C_C506><D_1153>VA</D_1153><D_1154>{buyer_vat}</D_1154></C_C506></S_RFF></G_SG3></G_SG2>
  <G_SG7><S_CUX><C_C504><D_6347>2</D_6347><D_6345>EUR</D_6345></C_C504></S_CUX></G_SG7>
  <G_SG8><S_PAT><D_4279>1</D_4279></S_PAT><S_DTM><C_C507><D_2005>13</D_2005><D_2380>{due}</D_2380></C_C507></S_DTM></G_SG8>
{lines}  <G_SG50><S_MOA><C_C516><D_5025>389</D_5025><D_5004>{net}</D_5004></C_C516></S_MOA></G_SG50>
  <G_SG50><S_MOA><C_C516><D_5025>176</D_5025><D_5004>{vat}</D_5004></C_C516></S_MOA></G_SG50>
  <G_SG50><S_MOA><C_C516><D_5025>9</D_5025><D_5004>{payable}</D_5004></C_C516></S_MOA></G_SG50>
 </M_INVOIC>
</Invoice>
"""


def invoice(seq: int, rng: random.Random, buyer: tuple[str, str],
            min_size: int, max_size: int) -> bytes:
    """One invoice of roughly min_size..max_size bytes."""
    return _invoice(seq, rng, buyer, min_size, max_size)[0]


def _invoice(seq: int, rng: random.Random, buyer: tuple[str, str], min_size: int,
             max_size: int) -> tuple[bytes, dict[str, str]]:
    """An invoice and the facts an envelope repeats."""
    seller, seller_vat = rng.choice(SELLERS)
    issued = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
    target = rng.randint(min_size, max_size)
    lines: list[str] = []
    net, n, size = Decimal(0), 0, 2000
    while size < target:
        n += 1
        amount = Decimal(rng.randrange(100, 500000)) / 100
        net += amount
        lines.append(_LINE.format(n=n, item=escape(rng.choice(ITEMS)), qty=rng.randint(1, 50),
                                  net=f"{amount:.2f}"))
        size += len(lines[-1])
    vat = (net * Decimal("0.22")).quantize(Decimal("0.01"))
    facts = {"number": f"2026-{seq:06d}", "issued": issued.isoformat(),
             "due": (issued + timedelta(days=30)).isoformat(), "seller": escape(seller),
             "seller_vat": seller_vat, "buyer": escape(buyer[0]), "buyer_vat": buyer[1],
             "payable": f"{net + vat:.2f}"}
    return _INVOICE.format(lines="".join(lines), net=f"{net:.2f}", vat=f"{vat:.2f}",
                           **facts).encode("utf-8"), facts


def write_corpus(folder: Path, count: int, buyer: tuple[str, str], *, seed: int = 2026,
                 min_size: int = 5_000, max_size: int = 50_000) -> Iterator[Path]:
    """Write `count` invoices into `folder` (100 per subfolder), yielding each path."""
    rng = random.Random(seed)  # noqa: S311 - test data, not security
    for seq in range(1, count + 1):
        path = folder / f"{(seq - 1) // 100:04d}" / f"invoice-{seq:06d}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(invoice(seq, rng, buyer, min_size, max_size))
        yield path


_ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<envelope>
 <sender><name>{seller}</name><country>SI</country>
  <sender_identifier>{seller_vat}</sender_identifier>
  <sender_eddress><sender_agent>LJBASI2XXXX</sender_agent>
   <sender_mailbox>SI56020100012345678</sender_mailbox></sender_eddress></sender>
 <receiver><name>{buyer}</name><country>SI</country>
  <receiver_identifier>{buyer_vat}</receiver_identifier>
  <receiver_eddress><receiver_agent>UJPLSI2DICL</receiver_agent>
   <receiver_mailbox>SI56011006000000027</receiver_mailbox></receiver_eddress></receiver>
 <doc_data><doc_type>0002</doc_type><doc_type_ver>01</doc_type_ver><doc_id>PKG-{number}</doc_id>
  <external_doc_id>{number}</external_doc_id><timestamp>{issued}T09:15:00</timestamp>
 </doc_data>
 <payment_data><payment_method>0</payment_method>
  <requested_execution_date>{due}</requested_execution_date>
  <amount>{payable}</amount><currency>EUR</currency>
  <remittance_information>
   <creditor_structured_reference>SI00 {number}</creditor_structured_reference>
  </remittance_information><purpose>COST</purpose></payment_data>
 <attachments><hash>0000000000000000000000000000000000000000</hash><count>2</count>
  <attachment><filename>{number}_1.xml</filename><type>xml</type>
   <description>Racun v e-Slog XML obliki</description></attachment>
  <attachment><filename>Priloga1.pdf</filename><type>pdf</type>
   <description>vizualizacija</description></attachment>
 </attachments>
</envelope>
"""


def ujp_package(seq: int, rng: random.Random, buyer: tuple[str, str]) -> bytes:
    """A UJP-style ZIP: envelope, the e-SLOG 2.0 invoice, and a (stand-in) PDF."""
    data, facts = _invoice(seq, rng, buyer, 5_000, 30_000)
    pdf = b"%PDF-1.4\n% e-hramba demo visualisation of " + facts["number"].encode() + (
        b"\n%%EOF\n")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("envelope.xml", _ENVELOPE.format(**facts))
        zf.writestr(f"{facts['number']}_1.xml", data)
        zf.writestr("Priloga1.pdf", pdf)
    return out.getvalue()


def write_packages(folder: Path, count: int, buyer: tuple[str, str], *,
                   seed: int = 2026) -> Iterator[Path]:
    """Write `count` UJP-style packages into `folder` (100 per subfolder)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not security
    for seq in range(1, count + 1):
        path = folder / f"{(seq - 1) // 100:04d}" / f"package-{seq:06d}.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ujp_package(seq, rng, buyer))
        yield path
