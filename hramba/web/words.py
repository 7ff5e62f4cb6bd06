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
    "migrations": ("Migracije", "Migrations"),
    "migrations_intro": ("Prenosi gradiva od prejšnjega ponudnika. Preglejte prenesen "
                         "izvoz in potrdite, da je ustrezen; šele nato se enkrat uvozi v "
                         "arhiv. Začasne kopije se nepreklicno izbrišejo 60 dni po uvozu.",
                         "Transfers from the previous provider. Review the staged export "
                         "and confirm that it is adequate; only then is it imported, once. "
                         "The staging copies are deleted for good 60 days after the "
                         "import."),
    "m_step": ("Stanje", "Step"),
    "step_staging": ("prenaša se", "being staged"),
    "step_awaiting confirmation": ("čaka na vašo potrditev", "awaiting your confirmation"),
    "step_confirmed, to import": ("potrjeno, čaka na uvoz", "confirmed, to be imported"),
    "step_imported": ("uvoženo", "imported"),
    "step_imported (one step)": ("uvoženo v enem koraku (arhivist, brez potrditve)",
                                 "imported in one step (archivist, without confirmation)"),
    "step_purged": ("začasne kopije izbrisane", "staging copies deleted"),
    "imported_at": ("Uvoženo", "Imported"),
    "written_word": ("Pisna potrditev proračunskega uporabnika (dopis, sporočilo)",
                     "The budget user's written confirmation (letter, message)"),
    "migration": ("Migracija", "Migration"),
    "m_expected": ("Pričakovanih", "Expected"),
    "m_transferred": ("Prenesenih", "Transferred"),
    "m_staged": ("Za uvoz", "To import"),
    "m_archived": ("Arhiviranih", "Archived"),
    "m_duplicate": ("Dvojnikov", "Duplicates"),
    "m_quarantined": ("V karanteni", "Quarantined"),
    "m_mismatched": ("Neujemajočih", "Mismatched"),
    "m_missing": ("Manjkajočih", "Missing"),
    "m_pending": ("Čaka", "Pending"),
    "reconciliation": ("Uskladitev po datotekah (CSV)", "Reconciliation by file (CSV)"),
    "confirmed_at": ("Potrjeno", "Confirmed"),
    "purge_due": ("začasne kopije se izbrišejo", "staging copies are deleted"),
    "purged_at": ("izbrisane", "deleted"),
    "accept_gaps": ("Potrjujem kljub nerešenim datotekam, ker", "I confirm despite the "
                    "unresolved files, because"),
    "purge_remote": ("Ob izbrisu izbriši arhivirane datoteke tudi pri prejšnjem ponudniku",
                     "At the purge, also delete the archived files at the previous provider"),
    "confirm": ("Potrdi izvoz", "Confirm the export"),
    "no_migrations": ("Ni migracij.", "No migrations."),
    "reports": ("Poročila", "Reports"),
    "kind": ("Vrsta", "Kind"),
    "period": ("Obdobje", "Period"),
    "generated": ("Izdelano", "Generated"),
    "no_reports": ("Ni poročil.", "No reports."),
    "document": ("Dokument", "Document"),
    "seller": ("Izdajatelj", "Seller"),
    "buyer": ("Prejemnik", "Buyer"),
    "payee": ("Prejemnik plačila", "Payee"),
    "vat_id": ("ID za DDV", "VAT id"),
    "tax_number": ("Davčna številka", "Tax number"),
    "registration_id": ("Matična številka", "Registration number"),
    "due_date": ("Rok plačila", "Due date"),
    "tax_point_date": ("Datum nastanka obveznosti DDV", "Tax point date"),
    "delivery_date": ("Datum dobave", "Delivery date"),
    "buyer_reference": ("Sklic kupca", "Buyer reference"),
    "order_reference": ("Naročilnica", "Purchase order"),
    "contract_reference": ("Pogodba", "Contract"),
    "preceding_invoice": ("Prejšnji račun", "Preceding invoice"),
    "lines": ("Postavke", "Lines"),
    "item": ("Artikel ali storitev", "Item"),
    "quantity": ("Količina", "Quantity"),
    "unit_price": ("Cena na enoto", "Unit price"),
    "vat_rate": ("Stopnja DDV", "VAT rate"),
    "net_amount": ("Znesek brez DDV", "Net amount"),
    "lines_truncated": ("Račun ima več postavk, kot jih stran pokaže; vse so v izvornem XML.",
                        "The invoice has more lines than the page shows; all are in its XML."),
    "vat_breakdown": ("Rekapitulacija DDV", "VAT breakdown"),
    "vat_category": ("Kategorija", "Category"),
    "taxable_amount": ("Osnova", "Taxable amount"),
    "tax_amount": ("DDV", "VAT"),
    "totals": ("Skupaj", "Totals"),
    "total_line_total": ("Vsota postavk", "Sum of lines"),
    "total_allowances": ("Popusti", "Allowances"),
    "total_charges": ("Stroški", "Charges"),
    "total_tax_exclusive": ("Znesek brez DDV", "Total without VAT"),
    "total_tax": ("DDV", "VAT"),
    "total_tax_inclusive": ("Znesek z DDV", "Total with VAT"),
    "total_prepaid": ("Že plačano", "Paid already"),
    "total_rounding": ("Zaokrožitev", "Rounding"),
    "total_payable": ("Za plačilo", "Amount payable"),
    "payment": ("Plačilo", "Payment"),
    "account": ("Račun (IBAN)", "Account (IBAN)"),
    "reference": ("Sklic", "Reference"),
    "terms": ("Plačilni pogoji", "Payment terms"),
    "notes": ("Opombe", "Notes"),
    "raw_xml": ("Izvorni XML, kot je bil prejet", "The XML as received"),
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
    "evidence_package": ("Prenesi paket dokazil (ZIP) za preverjanje brez povezave",
                         "Download the evidence package (ZIP) to verify offline"),
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
    "role_package": ("paket, kot je bil prejet", "package as received"),
    "role_derived": ("izpeljano iz računa", "derived from the invoice"),
    "role_validation": ("preveritev podpisov ob prevzemu", "signatures checked at capture"),
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
