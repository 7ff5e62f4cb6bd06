"""The portal's words, in Slovenian (the default) and English: key -> (sl, en). A test
checks that every key a template uses is here, in both."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

LANGS = ("sl", "en")

WORDS: dict[str, tuple[str, str]] = {
    "archive": ("e-hramba", "e-hramba"),
    "sign_in": ("Prijava", "Sign in"),
    "sign_out": ("Odjava", "Sign out"),
    "login": ("Uporabniško ime", "Login"),
    "password": ("Geslo", "Password"),
    "signed_in_as": ("Prijavljeni ste kot", "Signed in as"),
    "refused_sign_in": ("Prijava ni uspela: napačno uporabniško ime ali geslo, ali pa je "
                        "račun onemogočen.",
                        "Sign-in failed: wrong login or password, or a disabled account."),
    "documents": ("Dokumenti", "Documents"),
    "search": ("Išči", "Search"),
    "party": ("Partner (davčna številka ali začetek imena)",
              "Party (tax number or start of the name)"),
    "number": ("Številka računa", "Invoice number"),
    "date_from": ("Izdan od", "Issued from"),
    "date_to": ("Izdan do", "Issued until"),
    "tenant": ("Proračunski uporabnik", "Budget user"),
    "all": ("vsi", "all"),
    "issue_date": ("Datum izdaje", "Issue date"),
    "type": ("Vrsta", "Type"),
    "counterparty": ("Partner", "Counterparty"),
    "amount": ("Znesek", "Amount"),
    "format": ("Format", "Format"),
    "state": ("Stanje", "State"),
    "sealed": ("zapečaten", "sealed"),
    "pending": ("čaka na žig", "awaiting its timestamp"),
    "disposed": ("izločen", "disposed of"),
    "next_page": ("Naslednja stran", "Next page"),
    "no_units": ("Ni dokumentov, ki bi ustrezali iskanju.", "No documents match."),
    "exports": ("Izvozi", "Exports"),
    "exports_intro": ("Izvoz je paket ZIP z izvirniki izbranih dokumentov, njihovimi "
                      "dokazili o obstoju in navodili za preverjanje (BagIt). Pripravi se v "
                      "ozadju; ko je pripravljen, ga prenesete tukaj.",
                      "An export is a ZIP package of the chosen documents' originals, their "
                      "evidence of existence and how to check them (BagIt). It is built in "
                      "the background; once ready, download it here."),
    "reason": ("Namen", "Reason"),
    "request_export": ("Zahtevaj izvoz", "Request an export"),
    "requested": ("Zahtevano", "Requested"),
    "units_count": ("Enot", "Units"),
    "no_exports": ("Ni izvozov.", "No exports."),
    "export_awaiting-approval": ("čaka na odobritev", "awaiting approval"),
    "export_queued": ("v pripravi", "queued"),
    "export_building": ("v pripravi", "building"),
    "export_ready": ("pripravljen", "ready"),
    "export_failed": ("ni uspel", "failed"),
    "export_purged": ("izbrisan po poteku roka", "purged after its period"),
    "unit": ("Enota", "Unit"),
    "received_at": ("Prejeto", "Received"),
    "files": ("Datoteke", "Files"),
    "name": ("Ime", "Name"),
    "role": ("Vloga", "Role"),
    "size": ("Velikost", "Size"),
    "download": ("Prenesi", "Download"),
    "evidence": ("Dokazilo o obstoju", "Evidence of existence"),
    "sealed_in": ("zapečateno v paketu", "sealed in batch"),
    "not_sealed": ("še ni zapečateno (naslednji paket časovnih žigov)",
                   "not sealed yet (the next timestamp batch)"),
    "retention": ("Hramba", "Retention"),
    "retain_until": ("Hrani se do", "Kept until"),
    "policy": ("Pravilo", "Policy"),
    "legal_hold": ("Pravno zadržanje", "Legal hold"),
    "yes": ("da", "yes"),
    "no": ("ne", "no"),
    "role_invoice": ("račun", "invoice"),
    "role_attachment": ("priloga", "attachment"),
    "role_envelope": ("ovojnica", "envelope"),
    "role_manifest": ("popis enote", "unit manifest"),
    "role_document": ("dokument", "document"),
    # document types (hramba.domain.search.DOCUMENT_TYPES), as "type_" + name
    "type_invoice": ("račun", "invoice"),
    "type_credit-note": ("dobropis", "credit note"),
    "type_debit-note": ("bremepis", "debit note"),
    "type_corrected": ("popravljen račun", "corrected invoice"),
    "type_prepayment": ("račun za predplačilo", "prepayment invoice"),
    "type_self-billed": ("samozaračun", "self-billed invoice"),
    "type_partial": ("delni račun", "partial invoice"),
    "type_pro-forma": ("predračun", "pro-forma invoice"),
    "type_invoice-information": ("obvestilo o računu", "invoice information"),
    "findings": ("Opozorila ob prejemu", "Findings at intake"),
    "error": ("Napaka", "Error"),
    "language": ("English", "Slovensko"),
}


def amount(value: object, lang: str) -> str:
    """An amount as written here: 61.304,94 in Slovenian, 61,304.94 in English."""
    if value in (None, ""):
        return ""
    try:
        shown = f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)
    return shown.translate(str.maketrans(",.", ".,")) if lang == "sl" else shown


def document_kind(name: str | None, lang: str) -> str:
    """A document type's name (DOCUMENT_TYPES) in words, else the code as it came."""
    if name is None:
        return "–"
    key = f"type_{name}"
    return WORDS[key][LANGS.index(lang)] if key in WORDS else name


def words(lang: str) -> Callable[[str], str]:
    index = LANGS.index(lang)

    def say(key: str) -> str:
        return WORDS[key][index]

    return say
