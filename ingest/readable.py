"""The invoice as a person reads it (issue #14): parties, dates, lines, VAT breakdown,
totals and payment data of an e-SLOG 2.0, e-SLOG 1.6, UBL or CII invoice.

The portal renders the result; this module only reads. Where each field lives comes from
shared/FORMATS.md (sections a, b and d): one table of fixed XPaths per format, read by one
piece of code. The document supplies text and nothing else: no expression, name or path
is ever taken from it. A field the invoice does not have is None; an odd invoice (a part
missing, a value that is not what it should be) still gives what is there, never an
exception.

Every value is display text, as the invoice has it, except:

* amounts: the decimal normalised as `ingest.formats` does for the archive (two places,
  more kept: "2337.50"); one that is not a decimal is shown as written ("12,50"), never
  hidden. All are in `currency` (BT-5), except `Totals.tax_in_tax_currency` (BT-111), which
  is in `tax_currency`.
* dates: YYYY-MM-DD; one that is not a date is shown as written.
* texts made of parts (e-SLOG 1.6 names in NazivPartnerja1..4 and texts in Tekst2..5,
  e-SLOG 2.0 D_4440..D_4440_5, address lines): the parts joined. A part that fills its
  field was cut where the field ended, often mid-word, so it goes on without a space.
* `type_name`: the name `hramba.domain.search` gives the document type code ("credit-note"),
  which the portal puts into words; None for a code without one.

At most MAX_LINES lines are read; `lines_truncated` says whether the invoice has more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from functools import cache
from itertools import pairwise

from lxml import etree

from hramba.domain.search import TYPE_NAMES
from ingest.formats import NS, cii_date, decimal_text, iso_date

MAX_LINES = 10_000

_Paths = tuple[str, ...]  # alternatives, tried in order: the first that finds text wins


@dataclass(frozen=True)
class Party:
    """Seller, buyer or payee (EN 16931 BG-4, BG-7, BG-10)."""

    name: str | None = None
    vat_id: str | None = None  # BT-31 / BT-48
    tax_number: str | None = None  # BT-32, a tax registration other than VAT
    registration_id: str | None = None  # BT-30 / BT-47 (matična številka)
    street: str | None = None  # the address lines, joined with ", "
    city: str | None = None
    postcode: str | None = None
    country: str | None = None  # ISO 3166 code
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None


@dataclass(frozen=True)
class Line:
    """One invoice line (BG-25)."""

    id: str | None = None  # BT-126
    name: str | None = None  # BT-153, the item's name
    description: str | None = None  # BT-154
    note: str | None = None  # BT-127
    quantity: str | None = None  # BT-129
    unit_code: str | None = None  # BT-130 (UN/ECE Rec 20)
    unit_price: str | None = None  # BT-146, net
    price_base_quantity: str | None = None  # BT-149: the price is per this many units
    vat_category: str | None = None  # BT-151
    vat_rate: str | None = None  # BT-152, percent
    net_amount: str | None = None  # BT-131


@dataclass(frozen=True)
class VatRow:
    """One row of the VAT breakdown (BG-23); e-SLOG 2.0 also lists other taxes here."""

    tax_type: str | None = None  # VAT, or e-SLOG's OTH
    category: str | None = None  # BT-118
    rate: str | None = None  # BT-119, percent
    taxable_amount: str | None = None  # BT-116
    tax_amount: str | None = None  # BT-117
    exemption_reason: str | None = None  # BT-120, else its code BT-121


@dataclass(frozen=True)
class Totals:
    """Document totals (BG-22)."""

    line_total: str | None = None  # BT-106
    allowances: str | None = None  # BT-107
    charges: str | None = None  # BT-108
    tax_exclusive: str | None = None  # BT-109
    tax: str | None = None  # BT-110
    tax_in_tax_currency: str | None = None  # BT-111, in ReadableInvoice.tax_currency
    tax_inclusive: str | None = None  # BT-112
    prepaid: str | None = None  # BT-113
    rounding: str | None = None  # BT-114
    payable: str | None = None  # BT-115


@dataclass(frozen=True)
class Payment:
    """How to pay (BG-16)."""

    means_code: str | None = None  # BT-81 (UNTDID 4461: 30 credit transfer, 58 SEPA, ...)
    accounts: tuple[str, ...] = ()  # BT-84: IBAN, or the account as the invoice writes it
    bic: str | None = None  # BT-86
    reference: str | None = None  # BT-83, "sklic": SI12 1234-56
    reference_model: str | None = None  # its model, SI00..SI99 or RF.., where it starts so
    terms: str | None = None  # BT-20


@dataclass(frozen=True)
class ReadableInvoice:
    """The invoice as a person reads it; see the module docstring for how values look."""

    format: str  # ingest.formats.INVOICE_FORMATS
    document_type: str | None = None  # BT-3 code (380, 381, ...)
    type_name: str | None = None
    number: str | None = None  # BT-1
    issue_date: str | None = None  # BT-2
    due_date: str | None = None  # BT-9
    tax_point_date: str | None = None  # BT-7
    delivery_date: str | None = None  # BT-72
    period_start: str | None = None  # BT-73
    period_end: str | None = None  # BT-74
    currency: str | None = None  # BT-5
    tax_currency: str | None = None  # BT-6
    buyer_reference: str | None = None  # BT-10
    order_reference: str | None = None  # BT-13
    contract_reference: str | None = None  # BT-12
    preceding_invoice: str | None = None  # BT-25
    notes: tuple[str, ...] = ()  # BT-22
    seller: Party = field(default_factory=Party)
    buyer: Party = field(default_factory=Party)
    payee: Party | None = None
    lines: tuple[Line, ...] = ()
    lines_truncated: bool = False
    vat: tuple[VatRow, ...] = ()
    totals: Totals = field(default_factory=Totals)
    payment: Payment = field(default_factory=Payment)


# --- where each format keeps each field --------------------------------------------------


@dataclass(frozen=True)
class _Syntax:
    """One format's XPaths: absolute ones from the root, the others from the node of their
    party, line, VAT row or note. A field missing from a table is one the format lacks."""

    header: dict[str, _Paths]
    parties: dict[str, _Paths]  # seller, buyer, payee -> the party's node
    party: dict[str, _Paths]
    notes: str  # the note nodes
    note_parts: str  # from a note node: its text, or its parts
    lines: str
    line: dict[str, _Paths]
    vat: str
    vat_row: dict[str, _Paths]
    totals: dict[str, _Paths]
    payment: dict[str, _Paths]
    widths: dict[str, int] = field(default_factory=dict)  # field -> length of a full part


_E = "/e:Invoice/e:M_INVOIC/"


def _e_ref(code: str) -> str:
    return f"{_E}e:G_SG1/e:S_RFF/e:C_C506[e:D_1153='{code}']/e:D_1154"


def _e_date(code: str) -> str:
    return f"{_E}e:S_DTM/e:C_C507[e:D_2005='{code}']/e:D_2380"


def _e_moa(code: str) -> _Paths:
    return (f"{_E}e:G_SG50/e:S_MOA/e:C_C516[e:D_5025='{code}']/e:D_5004",)


def _e_party(role: str) -> str:
    return f"{_E}e:G_SG2[e:S_NAD/e:D_3035='{role}']"


def _e_contact(kind: str) -> _Paths:
    """A contact's phone (TE) or e-mail (EM): the contact person's first, then any, as the
    information contact (IC) holds the party's electronic address (BT-34, BT-49)."""
    com = f"e:S_COM/e:C_C076[e:D_3155='{kind}']/e:D_3148"
    return (f"e:G_SG5[not(e:S_CTA/e:D_3139='IC')]/{com}", f"e:G_SG5/{com}")


_E_VAT_TAX = "e:G_SG34/e:S_TAX[e:C_C241/e:D_5153='VAT']"
_E_PAY_ACCOUNT = "/e:S_FII[e:D_3035='RB']"

_ESLOG20 = _Syntax(
    header={
        "document_type": (f"{_E}e:S_BGM/e:C_C002/e:D_1001",),
        "number": (f"{_E}e:S_BGM/e:C_C106/e:D_1004",),
        "issue_date": (_e_date("137"),),
        "due_date": (f"{_E}e:G_SG8/e:S_DTM/e:C_C507[e:D_2005='13']/e:D_2380",),
        "tax_point_date": (_e_date("131"),),
        "delivery_date": (_e_date("35"),),
        "period_start": (_e_date("167"),),
        "period_end": (_e_date("168"),),
        "currency": (f"{_E}e:G_SG7/e:S_CUX/e:C_C504[e:D_6347='2']/e:D_6345",),
        "tax_currency": (f"{_E}e:G_SG7/e:S_CUX/e:C_C504[e:D_6347='6']/e:D_6345",),
        # FORMATS.md (a): the GZS sample has CR on the buyer, not among the G_SG1 references
        "buyer_reference": (f"{_e_party('BY')}/e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='CR']"
                            "/e:D_1154", _e_ref("CR")),
        "order_reference": (_e_ref("ON"),),
        "contract_reference": (_e_ref("CT"),),
        "preceding_invoice": (_e_ref("OI"),),
    },
    parties={"seller": (_e_party("SE"),), "buyer": (_e_party("BY"),),
             "payee": (_e_party("PE"),)},
    party={
        "name": ("e:S_NAD/e:C_C080/e:D_3036",),
        "vat_id": ("e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='VA']/e:D_1154",),
        "tax_number": ("e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='AHP']/e:D_1154",),
        "registration_id": ("e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='0199']/e:D_1154",),
        "street": ("e:S_NAD/e:C_C059/*",),
        "city": ("e:S_NAD/e:D_3164",),
        "postcode": ("e:S_NAD/e:D_3251",),
        "country": ("e:S_NAD/e:D_3207",),
        "contact_name": ("e:G_SG5/e:S_CTA/e:C_C056/e:D_3412",),
        "contact_phone": _e_contact("TE"),
        "contact_email": _e_contact("EM"),
    },
    # GEN is the note (BT-22); REG the seller's legal information (BT-33) and AGM the VAT
    # exemption reason (BT-120), both printed on the invoice and not kept elsewhere here.
    notes=f"{_E}e:S_FTX[e:D_4451='GEN' or e:D_4451='REG' or e:D_4451='AGM']",
    note_parts="e:C_C108/*",
    lines=f"{_E}e:G_SG26",
    line={
        "id": ("e:S_LIN/e:D_1082",),
        "name": ("e:S_IMD[e:D_7077='F']/e:C_C273/*",),
        "description": ("e:S_IMD[e:D_7077='A']/e:C_C273/*",),
        "note": ("e:S_FTX[e:D_4451='ACB']/e:C_C108/*",),
        "quantity": ("e:S_QTY/e:C_C186[e:D_6063='47']/e:D_6060", "e:S_QTY/e:C_C186/e:D_6060"),
        "unit_code": ("e:S_QTY/e:C_C186[e:D_6063='47']/e:D_6411", "e:S_QTY/e:C_C186/e:D_6411"),
        "unit_price": ("e:G_SG29/e:S_PRI/e:C_C509[e:D_5125='AAA']/e:D_5118",),
        "price_base_quantity": ("e:G_SG29/e:S_PRI/e:C_C509[e:D_5125='AAA']/e:D_5284",),
        "vat_category": (f"{_E_VAT_TAX}/e:D_5305", "e:G_SG34/e:S_TAX/e:D_5305"),
        "vat_rate": (f"{_E_VAT_TAX}/e:C_C243/e:D_5278", "e:G_SG34/e:S_TAX/e:C_C243/e:D_5278"),
        "net_amount": ("e:G_SG27/e:S_MOA/e:C_C516[e:D_5025='203']/e:D_5004",),
    },
    vat=f"{_E}e:G_SG52",
    vat_row={
        "tax_type": ("e:S_TAX/e:C_C241/e:D_5153",),
        "category": ("e:S_TAX/e:D_5305",),
        "rate": ("e:S_TAX/e:C_C243/e:D_5278",),
        "taxable_amount": ("e:S_MOA/e:C_C516[e:D_5025='125']/e:D_5004",),
        "tax_amount": ("e:S_MOA/e:C_C516[e:D_5025='124']/e:D_5004",),
    },
    totals={"line_total": _e_moa("79"), "allowances": _e_moa("260"), "charges": _e_moa("259"),
            "tax_exclusive": _e_moa("389"), "tax": _e_moa("176"),
            "tax_in_tax_currency": _e_moa("2"), "tax_inclusive": _e_moa("388"),
            "prepaid": _e_moa("113"), "rounding": _e_moa("366"), "payable": _e_moa("9")},
    payment={
        "means_code": (f"{_E}e:G_SG8/e:S_PAI/e:C_C534/e:D_4461",),
        # The seller's account (BT-84); the payee's if only the payee has one.
        "accounts": tuple(_e_party(role) + _E_PAY_ACCOUNT + "/e:C_C078/e:D_3194"
                          for role in ("SE", "PE")),
        "bic": tuple(_e_party(role) + _E_PAY_ACCOUNT + "/e:C_C088/e:D_3433"
                     for role in ("SE", "PE")),
        "reference": (_e_ref("PQ"),),
        "terms": (f"{_E}e:S_FTX[e:D_4451='AAB']/e:C_C108/*",),
    },
    # The XSD's lengths: D_3042 an..35, D_7008 an..256, D_4440 an..512.
    widths={"street": 35, "name": 256, "description": 256, "note": 512, "terms": 512},
)

_R = "/IzdaniRacunEnostavni/Racun/"
# FORMATS.md (b): the seller is the invoice issuer (II) in practice, SE only without one.
_R_SELLERS = tuple(f"{_R}PodatkiPodjetja[NazivNaslovPodjetja/VrstaPartnerja='{role}']"
                   for role in ("II", "SE"))
# The keys (Tekst1) of the free texts that are printed as notes; the others hold data
# (REFERENCA_NAMEN, FAKTURIST, OBRNJENA_DAVCNA_OBVEZNOST, ...) or a sample's markers.
_R_NOTE_KEYS = ("NASLOV_RACUNA", "GLAVA_TEKST", "DODATNI_TEKST", "DAVCNI_TEKST", "NOGA_TEKST")


def _r_date(code: str) -> str:
    return f"{_R}DatumiRacuna[VrstaDatuma='{code}']/DatumRacuna"


def _r_ref(code: str) -> str:
    return f"{_R}ReferencniDokumenti[@VrstaDokumenta='{code}']/StevilkaDokumenta"


def _r_total(code: str) -> _Paths:
    return (f"{_R}PovzetekZneskovRacuna/ZneskiRacuna[VrstaZneska='{code}']/ZnesekRacuna",)


def _r_company(code: str) -> _Paths:
    return (f"ReferencniPodatkiPodjetja[VrstaPodatkaPodjetja='{code}']/PodatekPodjetja",)


_R_SKLIC = "SklicZaPlacilo[SklicPlacila='PQ']/StevilkaSklica"

_ESLOG16 = _Syntax(
    header={
        "document_type": (f"{_R}GlavaRacuna/VrstaRacuna",),
        "number": (f"{_R}GlavaRacuna/StevilkaRacuna",),
        "issue_date": (_r_date("137"),),
        "due_date": (f"{_R}PlacilniPogoji/PlacilniRoki[VrstaDatumaPlacilnegaRoka='13']/Datum",),
        "delivery_date": (_r_date("35"),),
        # the invoice period: two 263 dates, its start and its end
        "period_start": (f"({_R}DatumiRacuna[VrstaDatuma='263'])[1]/DatumRacuna",),
        "period_end": (f"({_R}DatumiRacuna[VrstaDatuma='263'])[2]/DatumRacuna",),
        "currency": (f"{_R}Valuta[VrstaValuteRacuna='2']/KodaValute",),
        "order_reference": (_r_ref("ON"),),
        "contract_reference": (_r_ref("CT"),),
        "preceding_invoice": (_r_ref("IV"),),
    },
    parties={"seller": _R_SELLERS,
             "buyer": (f"{_R}PodatkiPodjetja[NazivNaslovPodjetja/VrstaPartnerja='BY']",),
             "payee": (f"{_R}PodatkiPodjetja[NazivNaslovPodjetja/VrstaPartnerja='PE']",)},
    party={
        "name": ("NazivNaslovPodjetja/NazivPartnerja/*",),
        "vat_id": _r_company("VA"),
        "registration_id": _r_company("GN"),
        "street": ("NazivNaslovPodjetja/Ulica/*",),
        "city": ("NazivNaslovPodjetja/Kraj",),
        "postcode": ("NazivNaslovPodjetja/PostnaStevilka",),
        "country": ("NazivNaslovPodjetja/KodaDrzave",),
        "contact_name": ("KontaktiPodjetja/KontaktnaOseba/ImeOsebe",),
        "contact_phone": ("KontaktiPodjetja/Komunikacije[VrstaKomunikacije='TE']"
                          "/StevilkaKomunikacije",),
        "contact_email": ("KontaktiPodjetja/Komunikacije[VrstaKomunikacije='EM']"
                          "/StevilkaKomunikacije",),
    },
    notes=f"{_R}PoljubnoBesedilo[" + " or ".join(f"Besedilo/Tekst1='{key}'"
                                                  for key in _R_NOTE_KEYS) + "]",
    note_parts="Besedilo/*[not(self::Tekst1)]",
    lines=f"{_R}PostavkeRacuna",
    line={
        "id": ("Postavka/StevilkaVrstice",),
        "name": ("OpisiArtiklov[KodaOpisaArtikla='F']/OpisArtikla/*",),
        "quantity": ("KolicinaArtikla[VrstaKolicine='47']/Kolicina", "KolicinaArtikla/Kolicina"),
        "unit_code": ("KolicinaArtikla[VrstaKolicine='47']/EnotaMere",
                      "KolicinaArtikla/EnotaMere"),
        "unit_price": ("CenaPostavke[not(VrstaCene) or VrstaCene='AAA']/Cena",),
        "vat_rate": ("DavkiPostavke/DavkiNaPostavki/OdstotekDavkaPostavke",),
        # The line's VAT base is its net amount. The GZS samples put the amount before the
        # line discount in 203 and, in one of the two, the amount with VAT in 38.
        "net_amount": ("DavkiPostavke/ZneskiDavkovPostavke[VrstaZneskaDavkaPostavke='125']"
                       "/Znesek", "ZneskiPostavke[VrstaZneskaPostavke='203']/ZnesekPostavke"),
    },
    vat=f"{_R}PovzetekDavkovRacuna",
    vat_row={
        "tax_type": ("DavkiRacuna/VrstaDavka",),
        "rate": ("DavkiRacuna/OdstotekDavka",),
        "taxable_amount": ("ZneskiDavkov[VrstaZneskaDavka='125']/ZnesekDavka",),
        "tax_amount": ("ZneskiDavkov[VrstaZneskaDavka='124']/ZnesekDavka",),
    },
    # The XSD's VrstaZneska: 53 the sum of discounts, 125 the sum of VAT bases, 86 the final
    # amount, 165 rounding. 131 (allowances and charges together) has no place here.
    totals={"line_total": _r_total("79"), "allowances": _r_total("53"),
            "tax_exclusive": _r_total("125"), "tax": _r_total("176"),
            "tax_inclusive": _r_total("86"), "prepaid": _r_total("113"),
            "rounding": _r_total("165"), "payable": _r_total("9")},
    payment={
        "accounts": tuple(f"{seller}/FinancniPodatkiPodjetja/BancniRacun/StevilkaBancnegaRacuna"
                          for seller in _R_SELLERS),
        "bic": tuple(f"{seller}/FinancniPodatkiPodjetja/BancniRacun/BIC"
                     for seller in _R_SELLERS),
        # Every summary repeats SklicZaPlacilo; the amount to pay (9) carries the number.
        "reference": (f"{_R}PovzetekZneskovRacuna[ZneskiRacuna/VrstaZneska='9']/{_R_SKLIC}",
                      f"{_R}PovzetekZneskovRacuna/{_R_SKLIC}"),
    },
    # The XSD's lengths: NazivPartnerja1..4, Ulica1..4, OpisArtikla1.. an..35; Tekst an..70.
    widths={"name": 35, "street": 35, "note": 70},
)

_U_MONEY = "/*/cac:LegalMonetaryTotal/cbc:"
_U_PAY = "/*/cac:PaymentMeans/"
_U_ADDRESS = "cac:PostalAddress/"


def _u_tax_amount(currency: str) -> str:
    """The TaxTotal in one currency: UBL repeats it for the VAT accounting currency."""
    return f"/*/cac:TaxTotal/cbc:TaxAmount[@currencyID=/*/cbc:{currency}]"


_UBL = _Syntax(
    header={
        "document_type": ("/*/cbc:InvoiceTypeCode", "/*/cbc:CreditNoteTypeCode"),
        "number": ("/*/cbc:ID",),
        "issue_date": ("/*/cbc:IssueDate",),
        "due_date": ("/*/cbc:DueDate", f"{_U_PAY}cbc:PaymentDueDate"),  # the latter: CreditNote
        "tax_point_date": ("/*/cbc:TaxPointDate",),
        "delivery_date": ("/*/cac:Delivery/cbc:ActualDeliveryDate",),
        "period_start": ("/*/cac:InvoicePeriod/cbc:StartDate",),
        "period_end": ("/*/cac:InvoicePeriod/cbc:EndDate",),
        "currency": ("/*/cbc:DocumentCurrencyCode",),
        "tax_currency": ("/*/cbc:TaxCurrencyCode",),
        "buyer_reference": ("/*/cbc:BuyerReference",),
        "order_reference": ("/*/cac:OrderReference/cbc:ID",),
        "contract_reference": ("/*/cac:ContractDocumentReference/cbc:ID",),
        "preceding_invoice": ("/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",),
    },
    parties={"seller": ("/*/cac:AccountingSupplierParty/cac:Party",),
             "buyer": ("/*/cac:AccountingCustomerParty/cac:Party",),
             "payee": ("/*/cac:PayeeParty",)},
    party={
        # BT-27/BT-44 (the legal name), else BT-28/BT-45, as ingest.formats reads it
        "name": ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"),
        "vat_id": ("cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",),
        "tax_number": ("cac:PartyTaxScheme[not(cac:TaxScheme/cbc:ID='VAT')]/cbc:CompanyID",),
        "registration_id": ("cac:PartyLegalEntity/cbc:CompanyID",),
        "street": (f"{_U_ADDRESS}cbc:StreetName | {_U_ADDRESS}cbc:AdditionalStreetName"
                   f" | {_U_ADDRESS}cac:AddressLine/cbc:Line",),
        "city": (f"{_U_ADDRESS}cbc:CityName",),
        "postcode": (f"{_U_ADDRESS}cbc:PostalZone",),
        "country": (f"{_U_ADDRESS}cac:Country/cbc:IdentificationCode",),
        "contact_name": ("cac:Contact/cbc:Name",),
        "contact_phone": ("cac:Contact/cbc:Telephone",),
        "contact_email": ("cac:Contact/cbc:ElectronicMail",),
    },
    notes="/*/cbc:Note",
    note_parts=".",
    lines="/*/cac:InvoiceLine | /*/cac:CreditNoteLine",
    line={
        "id": ("cbc:ID",),
        "name": ("cac:Item/cbc:Name",),
        "description": ("cac:Item/cbc:Description",),
        "note": ("cbc:Note",),
        "quantity": ("cbc:InvoicedQuantity", "cbc:CreditedQuantity"),
        "unit_code": ("cbc:InvoicedQuantity/@unitCode", "cbc:CreditedQuantity/@unitCode"),
        "unit_price": ("cac:Price/cbc:PriceAmount",),
        "price_base_quantity": ("cac:Price/cbc:BaseQuantity",),
        "vat_category": ("cac:Item/cac:ClassifiedTaxCategory/cbc:ID",),
        "vat_rate": ("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent",),
        "net_amount": ("cbc:LineExtensionAmount",),
    },
    vat="/*/cac:TaxTotal/cac:TaxSubtotal",
    vat_row={
        "tax_type": ("cac:TaxCategory/cac:TaxScheme/cbc:ID",),
        "category": ("cac:TaxCategory/cbc:ID",),
        "rate": ("cac:TaxCategory/cbc:Percent",),
        "taxable_amount": ("cbc:TaxableAmount",),
        "tax_amount": ("cbc:TaxAmount",),
        "exemption_reason": ("cac:TaxCategory/cbc:TaxExemptionReason",
                             "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
    },
    totals={
        "line_total": (f"{_U_MONEY}LineExtensionAmount",),
        "allowances": (f"{_U_MONEY}AllowanceTotalAmount",),
        "charges": (f"{_U_MONEY}ChargeTotalAmount",),
        "tax_exclusive": (f"{_U_MONEY}TaxExclusiveAmount",),
        # Without currencies to tell the TaxTotals apart, the first is the document's.
        "tax": (_u_tax_amount("DocumentCurrencyCode"), "/*/cac:TaxTotal[1]/cbc:TaxAmount"
                "[not(@currencyID) or not(/*/cbc:DocumentCurrencyCode)]"),
        "tax_in_tax_currency": (_u_tax_amount("TaxCurrencyCode"),),
        "tax_inclusive": (f"{_U_MONEY}TaxInclusiveAmount",),
        "prepaid": (f"{_U_MONEY}PrepaidAmount",),
        "rounding": (f"{_U_MONEY}PayableRoundingAmount",),
        "payable": (f"{_U_MONEY}PayableAmount",),
    },
    payment={
        "means_code": (f"{_U_PAY}cbc:PaymentMeansCode",),
        "accounts": (f"{_U_PAY}cac:PayeeFinancialAccount/cbc:ID",),
        "bic": (f"{_U_PAY}cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",),
        "reference": (f"{_U_PAY}cbc:PaymentID",),
        "terms": ("/*/cac:PaymentTerms/cbc:Note",),
    },
)

_X = "/rsm:CrossIndustryInvoice/"
_X_DOC = f"{_X}rsm:ExchangedDocument/"
_X_DEAL = f"{_X}rsm:SupplyChainTradeTransaction/"
_X_AGREEMENT = f"{_X_DEAL}ram:ApplicableHeaderTradeAgreement/"
_X_DELIVERY = f"{_X_DEAL}ram:ApplicableHeaderTradeDelivery/"
_X_SETTLEMENT = f"{_X_DEAL}ram:ApplicableHeaderTradeSettlement/"
_X_MONEY = f"{_X_SETTLEMENT}ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
_X_MEANS = f"{_X_SETTLEMENT}ram:SpecifiedTradeSettlementPaymentMeans/"
_X_ADDRESS = "ram:PostalTradeAddress/"
_X_LINE_TAX = "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/"
_X_PRICE = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/"
_X_CONTACT = "ram:DefinedTradeContact/"


def _x_tax_total(currency: str) -> str:
    """TaxTotalAmount in one currency: CII repeats it for the VAT accounting currency."""
    return f"{_X_MONEY}TaxTotalAmount[@currencyID=../../ram:{currency}]"


_CII = _Syntax(
    header={
        "document_type": (f"{_X_DOC}ram:TypeCode",),
        "number": (f"{_X_DOC}ram:ID",),
        "issue_date": (f"{_X_DOC}ram:IssueDateTime/udt:DateTimeString",),
        "due_date": (f"{_X_SETTLEMENT}ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime"
                     "/udt:DateTimeString",),
        "tax_point_date": (f"{_X_SETTLEMENT}ram:ApplicableTradeTax/ram:TaxPointDate"
                           "/udt:DateString",),
        "delivery_date": (f"{_X_DELIVERY}ram:ActualDeliverySupplyChainEvent"
                          "/ram:OccurrenceDateTime/udt:DateTimeString",),
        "period_start": (f"{_X_SETTLEMENT}ram:BillingSpecifiedPeriod/ram:StartDateTime"
                         "/udt:DateTimeString",),
        "period_end": (f"{_X_SETTLEMENT}ram:BillingSpecifiedPeriod/ram:EndDateTime"
                       "/udt:DateTimeString",),
        "currency": (f"{_X_SETTLEMENT}ram:InvoiceCurrencyCode",),
        "tax_currency": (f"{_X_SETTLEMENT}ram:TaxCurrencyCode",),
        "buyer_reference": (f"{_X_AGREEMENT}ram:BuyerReference",),
        "order_reference": (f"{_X_AGREEMENT}ram:BuyerOrderReferencedDocument"
                            "/ram:IssuerAssignedID",),
        "contract_reference": (f"{_X_AGREEMENT}ram:ContractReferencedDocument"
                               "/ram:IssuerAssignedID",),
        "preceding_invoice": (f"{_X_SETTLEMENT}ram:InvoiceReferencedDocument"
                              "/ram:IssuerAssignedID",),
    },
    parties={"seller": (f"{_X_AGREEMENT}ram:SellerTradeParty",),
             "buyer": (f"{_X_AGREEMENT}ram:BuyerTradeParty",),
             "payee": (f"{_X_SETTLEMENT}ram:PayeeTradeParty",)},
    party={
        "name": ("ram:Name",),
        "vat_id": ("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",),
        "tax_number": ("ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']",),
        "registration_id": ("ram:SpecifiedLegalOrganization/ram:ID",),
        "street": (f"{_X_ADDRESS}ram:LineOne | {_X_ADDRESS}ram:LineTwo"
                   f" | {_X_ADDRESS}ram:LineThree",),
        "city": (f"{_X_ADDRESS}ram:CityName",),
        "postcode": (f"{_X_ADDRESS}ram:PostcodeCode",),
        "country": (f"{_X_ADDRESS}ram:CountryID",),
        "contact_name": (f"{_X_CONTACT}ram:PersonName", f"{_X_CONTACT}ram:DepartmentName"),
        "contact_phone": (f"{_X_CONTACT}ram:TelephoneUniversalCommunication"
                          "/ram:CompleteNumber",),
        "contact_email": (f"{_X_CONTACT}ram:EmailURIUniversalCommunication/ram:URIID",),
    },
    notes=f"{_X_DOC}ram:IncludedNote",
    note_parts="ram:Content",
    lines=f"{_X_DEAL}ram:IncludedSupplyChainTradeLineItem",
    line={
        "id": ("ram:AssociatedDocumentLineDocument/ram:LineID",),
        "name": ("ram:SpecifiedTradeProduct/ram:Name",),
        "description": ("ram:SpecifiedTradeProduct/ram:Description",),
        "note": ("ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content",),
        "quantity": ("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",),
        "unit_code": ("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode",),
        "unit_price": (f"{_X_PRICE}ram:ChargeAmount",),
        "price_base_quantity": (f"{_X_PRICE}ram:BasisQuantity",),
        "vat_category": (f"{_X_LINE_TAX}ram:CategoryCode",),
        "vat_rate": (f"{_X_LINE_TAX}ram:RateApplicablePercent",),
        "net_amount": ("ram:SpecifiedLineTradeSettlement"
                       "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",),
    },
    vat=f"{_X_SETTLEMENT}ram:ApplicableTradeTax",
    vat_row={
        "tax_type": ("ram:TypeCode",),
        "category": ("ram:CategoryCode",),
        "rate": ("ram:RateApplicablePercent",),
        "taxable_amount": ("ram:BasisAmount",),
        "tax_amount": ("ram:CalculatedAmount",),
        "exemption_reason": ("ram:ExemptionReason", "ram:ExemptionReasonCode"),
    },
    totals={
        "line_total": (f"{_X_MONEY}LineTotalAmount",),
        "allowances": (f"{_X_MONEY}AllowanceTotalAmount",),
        "charges": (f"{_X_MONEY}ChargeTotalAmount",),
        "tax_exclusive": (f"{_X_MONEY}TaxBasisTotalAmount",),
        # Without currencies to tell them apart, the first is the document's.
        "tax": (_x_tax_total("InvoiceCurrencyCode"), f"{_X_MONEY}TaxTotalAmount"
                "[not(@currencyID) or not(../../ram:InvoiceCurrencyCode)][1]"),
        "tax_in_tax_currency": (_x_tax_total("TaxCurrencyCode"),),
        "tax_inclusive": (f"{_X_MONEY}GrandTotalAmount",),
        "prepaid": (f"{_X_MONEY}TotalPrepaidAmount",),
        "rounding": (f"{_X_MONEY}RoundingAmount",),
        "payable": (f"{_X_MONEY}DuePayableAmount",),
    },
    payment={
        "means_code": (f"{_X_MEANS}ram:TypeCode",),
        "accounts": (f"{_X_MEANS}ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
                     f" | {_X_MEANS}ram:PayeePartyCreditorFinancialAccount/ram:ProprietaryID",),
        "bic": (f"{_X_MEANS}ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID",),
        "reference": (f"{_X_SETTLEMENT}ram:PaymentReference",),
        "terms": (f"{_X_SETTLEMENT}ram:SpecifiedTradePaymentTerms/ram:Description",),
    },
)

# ZUGFeRD 1.0 (the XML of older hybrid PDFs) is CII of the D13B draft: the same parties,
# lines and sums under older names and namespaces. Its paths are CII's, renamed.
_D13B_NAMES = (
    ("rsm:CrossIndustryInvoice", "zf:CrossIndustryDocument"),
    ("rsm:ExchangedDocument", "zf:HeaderExchangedDocument"),
    ("rsm:SupplyChainTradeTransaction", "zf:SpecifiedSupplyChainTradeTransaction"),
    ("HeaderTradeAgreement", "SupplyChainTradeAgreement"),
    ("HeaderTradeDelivery", "SupplyChainTradeDelivery"),
    ("HeaderTradeSettlement", "SupplyChainTradeSettlement"),
    ("LineTradeAgreement", "SupplyChainTradeAgreement"),
    ("LineTradeDelivery", "SupplyChainTradeDelivery"),
    ("LineTradeSettlement", "SupplyChainTradeSettlement"),
    ("SettlementHeaderMonetarySummation", "SettlementMonetarySummation"),
    ("SettlementLineMonetarySummation", "SettlementMonetarySummation"),
    ("RateApplicablePercent", "ApplicablePercent"),
)


def _d13b(path: str) -> str:
    for new, old in _D13B_NAMES:
        path = path.replace(new, old)
    return re.sub(r"\b(ram|udt):", r"z\1:", path)


def _d13b_table(table: dict[str, _Paths]) -> dict[str, _Paths]:
    return {key: tuple(_d13b(path) for path in paths) for key, paths in table.items()}


_ZUGFERD1 = replace(
    _CII, header=_d13b_table(_CII.header), parties=_d13b_table(_CII.parties),
    party=_d13b_table(_CII.party), notes=_d13b(_CII.notes), note_parts=_d13b(_CII.note_parts),
    lines=_d13b(_CII.lines), line=_d13b_table(_CII.line), vat=_d13b(_CII.vat),
    vat_row=_d13b_table(_CII.vat_row), totals=_d13b_table(_CII.totals),
    payment=_d13b_table(_CII.payment))

_SYNTAXES = {"eslog20": _ESLOG20, "eslog16": _ESLOG16, "ubl": _UBL, "cii": _CII,
             "zugferd1": _ZUGFERD1}

# How a field's value is made from its text: the parts joined with this separator, ...
_JOINED = {"name": " ", "street": ", ", "description": " ", "note": " ", "terms": " "}
# ... or the first text, as a date or an amount, or as it is.
_DATES = frozenset({"issue_date", "due_date", "tax_point_date", "delivery_date",
                    "period_start", "period_end"})
_AMOUNTS = frozenset({"unit_price", "net_amount", "taxable_amount", "tax_amount",
                      *(total.name for total in fields(Totals))})
_REFERENCE_MODEL = re.compile(r"(SI\d\d|RF\d\d)")


# --- reading -----------------------------------------------------------------------------


def readable_invoice(fmt: str, root: etree._Element) -> ReadableInvoice:
    """The invoice under `root` (as ingest.formats.parse_xml returns it) in format `fmt`,
    one of ingest.formats.INVOICE_FORMATS; ValueError for any other format (an envelope
    holds no invoice: its invoice travels beside it)."""
    syntax = _SYNTAXES.get(fmt)
    if syntax is None:
        raise ValueError(f"not an invoice format: {fmt!r}")
    header = _fields(root, syntax.header, syntax)
    nodes = _nodes(root, syntax.lines)
    return ReadableInvoice(
        format=fmt, document_type=header.get("document_type"),
        type_name=TYPE_NAMES.get(header.get("document_type") or ""),
        number=header.get("number"), issue_date=header.get("issue_date"),
        due_date=header.get("due_date"), tax_point_date=header.get("tax_point_date"),
        delivery_date=header.get("delivery_date"), period_start=header.get("period_start"),
        period_end=header.get("period_end"), currency=header.get("currency"),
        tax_currency=header.get("tax_currency"),
        buyer_reference=header.get("buyer_reference"),
        order_reference=header.get("order_reference"),
        contract_reference=header.get("contract_reference"),
        preceding_invoice=header.get("preceding_invoice"),
        notes=_notes(root, syntax),
        seller=_party(root, syntax, "seller") or Party(),
        buyer=_party(root, syntax, "buyer") or Party(),
        payee=_party(root, syntax, "payee"),
        lines=tuple(Line(**_fields(node, syntax.line, syntax)) for node in nodes[:MAX_LINES]),
        lines_truncated=len(nodes) > MAX_LINES,
        vat=tuple(VatRow(**_fields(node, syntax.vat_row, syntax))
                  for node in _nodes(root, syntax.vat)),
        totals=Totals(**_fields(root, syntax.totals, syntax)),
        payment=_payment(root, syntax),
    )


def _party(root: etree._Element, syntax: _Syntax, role: str) -> Party | None:
    """The party in `role`, or None when the invoice names none."""
    for path in syntax.parties[role]:
        for node in _nodes(root, path):
            return Party(**_fields(node, syntax.party, syntax))
    return None


def _notes(root: etree._Element, syntax: _Syntax) -> tuple[str, ...]:
    texts = (_joined(node, (syntax.note_parts,), _JOINED["note"], syntax.widths.get("note"))
             for node in _nodes(root, syntax.notes))
    return tuple(text for text in texts if text)


def _payment(root: etree._Element, syntax: _Syntax) -> Payment:
    table = dict(syntax.payment)
    accounts = _all(root, table.pop("accounts", ()))
    values = _fields(root, table, syntax)
    reference = values.get("reference")
    model = _REFERENCE_MODEL.match(reference.replace(" ", "")) if reference else None
    return Payment(accounts=tuple(dict.fromkeys(accounts)),
                   reference_model=model.group(1) if model else None, **values)


def _fields(node: etree._Element, table: dict[str, _Paths],
            syntax: _Syntax) -> dict[str, str | None]:
    return {key: _field(node, key, paths, syntax) for key, paths in table.items()}


def _field(node: etree._Element, key: str, paths: _Paths, syntax: _Syntax) -> str | None:
    if key in _JOINED:
        return _joined(node, paths, _JOINED[key], syntax.widths.get(key))
    parts = _all(node, paths)
    text = parts[0].strip() if parts else None
    if text is None:
        return None
    if key in _DATES:
        return cii_date(text) or iso_date(text) or text
    if key in _AMOUNTS:
        return decimal_text(text) or text
    return text


def _joined(node: etree._Element, paths: _Paths, sep: str, width: int | None) -> str | None:
    """The texts the first fruitful path finds, joined with `sep`; a part of `width`
    characters or more filled its field and goes on without a separator."""
    parts = _all(node, paths)
    if not parts:
        return None
    text = parts[0]
    for before, part in pairwise(parts):
        full = width is not None and len(before.strip()) >= width
        text = text.rstrip() + part if full else text.rstrip() + sep + part.lstrip()
    return text.strip()


def _all(node: etree._Element, paths: _Paths) -> list[str]:
    """The non-blank texts found by the first path in `paths` that finds any, unstripped
    (a part's length tells whether it filled its field)."""
    for path in paths:
        hits = _xpath(path)(node)
        texts = [_text(hit) for hit in hits] if isinstance(hits, list) else []
        if found := [text for text in texts if text.strip()]:
            return found
    return []


def _text(hit: object) -> str:
    """An attribute's value, or an element's text. Elements a producer put inside a text
    field give their text and nothing else (a comment gives none): it is data, and is
    never rendered as markup."""
    if isinstance(hit, etree._Element):
        return "".join(hit.itertext())
    return hit if isinstance(hit, str) else ""


def _nodes(root: etree._Element, path: str) -> list[etree._Element]:
    hits = _xpath(path)(root)
    return [hit for hit in hits if isinstance(hit, etree._Element)] \
        if isinstance(hits, list) else []


@cache
def _xpath(path: str) -> etree.XPath:
    """Compiled once: the paths are this module's constants. lxml serialises calls to one
    compiled XPath, so threads may share it."""
    return etree.XPath(path, namespaces=NS)
