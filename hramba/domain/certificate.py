"""Certificates as documents: the destruction certificate (zapisnik o uničenju and popis)
and the staging purge certificate, shaped as Slovenian practice asks for them.

Each is made from its JSON body (hramba.services.disposal, hramba.services.purge), which
it carries as an attachment, so the PDF people sign off and the JSON machines read cannot
say different things. The words are Slovenian: these are the creator's records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from hramba.domain.document import (
    Attachment,
    Block,
    Column,
    Fields,
    Heading,
    Paragraph,
    PdfDocument,
    Table,
)

NOT_RECORDED = "ni vpisano"
DESTRUCTION_TITLE = "Zapisnik o uničenju dokumentarnega gradiva"
STAGING_TITLE = "Zapisnik o izbrisu začasnega prostora migracije"
KEPT = {"held": "pravno zadržana", "locked": "zaklenjena v hrambi",
        "retained": "še v roku hrambe"}
STATES = {"archived": "arhivirana", "duplicate": "dvojnik že arhivirane",
          "quarantined": "v karanteni", "mismatched": "se ne ujema s seznamom",
          "missing": "manjka", "transferred": "prenesena", "pending": "ni prenesena",
          "unresolved": "nerešena"}


def to_bytes(body: dict[str, Any]) -> bytes:
    """A certificate's JSON as stored, hashed and attached."""
    return json.dumps(body, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")


def destruction_document(body: dict[str, Any], json_name: str, json_sha256: str
                         ) -> PdfDocument:
    """The zapisnik and popis of one executed disposal, from its certificate's JSON."""
    title = f"{DESTRUCTION_TITLE} št. {body['disposal']}"
    counts = body["counts"]
    blocks: list[Block] = [
        *_creator(body),
        Heading("Odločitev in izvršitev"),
        Fields([("Pisno navodilo arhiva", body["instruction"]),
                ("Rok hrambe potekel do", _day(body["as_of"])),
                ("Predlagal", _who(body["proposed"])),
                ("Odobril", _who(body["approved"])),
                ("Datum uničenja", _moment(body["executed_at"]))]),
        Paragraph("Gradivo s popisa spodaj je uničeno: iz hrambe so izbrisani vsi objekti "
                  "vsake enote, z vsemi različicami. Ostane zapis o izločitvi (metapodatki, "
                  "izvlečki SHA-256 datotek in dokazila o obstoju), s katerim sta obstoj in "
                  "celovitost gradiva do uničenja še dokazljiva. Enote, ki jih je zadržalo "
                  "pravno zadržanje ali zaklep hrambe, niso uničene in so naštete posebej."),
        Heading("Povzetek"),
        Fields([("Predlaganih enot", _count(counts["listed"])),
                ("Uničenih enot", _count(counts["disposed"])),
                ("Neuničenih enot", _count(counts["skipped"]))]),
        Heading("Popis uničenega gradiva"),
        *_rows_or_none(
            [Column("Enota", 3.4), Column("Št. dokumenta", 1.3), Column("Datum izdaje", 1.1),
             Column("Pravilo hrambe", 1.5), Column("SHA-256 vsebine in dokazila", 3.4)],
            ([u["unit_id"], u["document"].get("invoice_number") or "–",
              u["document"].get("issue_date") or "–", u["policy"],
              "\n".join([u["content_sha256"], *u["evidence_record_sha256"]])]
             for u in body["disposed"]), max_lines=5),
        Heading("Neuničeno"),
        *_rows_or_none([Column("Enota", 3.4), Column("Stanje", 1.2), Column("Razlog", 5.1)],
                       ([u["unit_id"], KEPT.get(u["state"], u["state"]), u["detail"] or "–"]
                        for u in body["skipped"])),
        *_binding(json_name, json_sha256,
                  "JSON potrdila je zapečaten s časovnim žigom v naslednjem paketu; "
                  f"dokazilo da `hramba dispose certificate {body['disposal']}`."),
    ]
    return _document(title, blocks, body, json_name)


def staging_document(body: dict[str, Any], json_name: str, json_sha256: str) -> PdfDocument:
    """The record of one migration's staging purge, from its JSON."""
    migration = body["migration"]
    title = f"{STAGING_TITLE} št. {migration['id']}"
    remote = body["counts"].get("remote files removed")
    blocks: list[Block] = [
        *_creator(body),
        Heading("Migracija"),
        Fields([("Prejšnji ponudnik (vir)", migration["remote"]),
                ("Začeta", _moment(migration["started_at"])),
                ("Potrdil", _who({"by": migration["confirmed_by"],
                                  "at": migration["confirmed_at"]})
                 + (f" (pisna potrditev: {migration['written_word']})"
                    if migration.get("written_word") else "")),
                ("Sprejete vrzeli", migration["accepted_gaps"] or "–"),
                ("Uvozil", _who({"by": migration.get("imported_by"),
                                 "at": migration.get("imported_at")})
                 + (" (v enem koraku, brez potrditve)" if migration.get("one_step") else "")),
                ("Pravilo", body["policy"]),
                ("Izbrisano", _moment(body["executed_at"]))]),
        Paragraph(("Začasne kopije, prenesene s strežnika prejšnjega ponudnika, so po poteku "
                   "roka po uvozu izbrisane iz začasnega prostora arhiva. Enote, arhivirane "
                   "iz njih, ostanejo v hrambi." if migration.get("imported_at") else
                   "Izvoz prejšnjega ponudnika ni bil uvožen: začasne kopije so po poteku "
                   "roka po prenosu izbrisane iz začasnega prostora arhiva, nobena ni "
                   "arhivirana.")
                  + ("" if remote is None else
                     " Na zahtevo proračunskega uporabnika so s strežnika prejšnjega "
                     f"ponudnika izbrisane tudi datoteke, ki jih arhiv hrani ({remote}); "
                     "neujemajoče se in manjkajoče niso.")),
        Heading("Povzetek"),
        Table([Column("Stanje datotek migracije", 3), Column("Datotek", 1, "right")],
              [[STATES.get(state, state), _count(n)]
               for state, n in sorted(body["files_by_state"].items())]),
        Fields([("Izbrisanih datotek", _count(body["counts"]["files"])),
                ("Izbrisanih bajtov", _count(body["counts"]["bytes"])),
                ("Zapis o izbrisu", f"št. {body['purge']}"),
                ("SHA-256 seznama", body["record_sha256"])]),
        Heading("Popis prenesenih datotek"),
        *_rows_or_none(
            [Column("Pot", 3), Column("Velikost", 1, "right"), Column("Stanje", 1.4),
             Column("Enota in SHA-256", 4)],
            ([f["path"], "–" if f["size"] is None else _count(f["size"]),
              STATES.get(f["state"], f["state"]),
              "\n".join([f["unit_id"] or "–", f["sha256"] or "–"])] for f in body["files"]),
            max_lines=3),
        *_binding(json_name, json_sha256, ""),
    ]
    return _document(title, blocks, body, json_name)


def _creator(body: dict[str, Any]) -> list[Block]:
    creator = body["creator"]
    return [Fields([("Arhiv", body["archive"]),
                    ("Ustvarjalec gradiva", creator["name"]),
                    ("Davčna številka", creator["tax_number"]),
                    ("Šifra PU", creator["code"]),
                    ("Naslov", creator["address"] or NOT_RECORDED),
                    ("Odgovorna oseba", creator["responsible"] or NOT_RECORDED)])]


def _binding(json_name: str, json_sha256: str, more: str) -> list[Block]:
    return [Heading("Vezava"),
            Paragraph("Priloga tega dokumenta je potrdilo v JSON, z istimi podatki za "
                      "strojno preverjanje. Dokument je elektronsko podpisan s ključem arhiva "
                      "(PAdES) in ima časovni žig. " + more),
            Fields([(json_name, json_sha256)])]


def _document(title: str, blocks: list[Block], body: dict[str, Any], json_name: str
              ) -> PdfDocument:
    return PdfDocument(title, blocks, lang="sl", subject=title,
                       created=datetime.fromisoformat(body["executed_at"]),
                       footer=f"{body['archive']}: {title}",
                       attachments=[Attachment(json_name, to_bytes(body), "application/json",
                                               "potrdilo (JSON)")])


def _rows_or_none(columns: Sequence[Column], rows: Iterable[Sequence[str]],
                  max_lines: int = 2) -> list[Block]:
    listed = list(rows)
    return [Table(columns, listed, max_lines)] if listed else [Paragraph("Nič.")]


def _who(step: dict[str, Any]) -> str:
    return "–" if step["by"] is None else f"{step['by']}, {_moment(step['at'])}"


def _moment(value: str | None) -> str:
    return "–" if value is None else f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M:%S %Z}"


def _day(value: str) -> str:
    return f"{datetime.fromisoformat(value):%Y-%m-%d}"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")
