"""The readable invoice (issue #14): every public sample's parties, lines, VAT breakdown,
totals and payment data; invoices that lack most fields; markup inside text fields.

Expected values were read off the sample files by hand (shared/samples, see FORMATS.md),
never computed with the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from plugins.samples import samples_dir

from ingest import readable
from ingest.formats import INVOICE_FORMATS, detect, parse_xml
from ingest.readable import Line, Party, Payment, ReadableInvoice, Totals, VatRow, readable_invoice

# (line index, id, name, quantity, unit code, net amount)
LineRow = tuple[int, str | None, str, str, str, str | None]
# (tax type, category, rate, taxable amount, tax amount)
VatTuple = tuple[str | None, str | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class Sample:
    """What a person reads on one sample: a few fields of every part of it."""

    number: str
    seller: str
    buyer: str
    line: LineRow
    vat: tuple[VatTuple, ...]
    payable: str
    accounts: tuple[str, ...]


def s25(taxable: str, tax: str, rate: str = "25") -> VatTuple:
    return ("VAT", "S", rate, taxable, tax)


# The TOSL110 invoice of the GZS e-SLOG 2.0 sample; its BT-free copy differs only in
# comments, one BT-121 code and the payee's id, so all four files read the same here.
TOSL110_ESLOG = Sample(
    "TOSL110", "SellerCompany", "BuyerCompany ltd",
    (0, "1", "Printing paper", "1000", "C62", "1000.00"),
    (s25("1500.00", "375.00"), s25("2500.00", "300.00", "12"),
     ("OTH", None, "12", "2500.00", "300.00")),  # NBT-053: another tax, no category
    "2337.50", ("DK1212341234123412",))
# e-SLOG 1.6: line 0 is a descriptive line without a number, quantity 0 and no amount.
GZS16_SELLER = "SETCCE"
GZS16_BUYER = ("Zelo dolg naziv podjetja za prvo vrstico d.o.o. Oddelek za naročanje "
               "nenavadnega blaga")  # NazivPartnerja1..4, "...prvo vr" a full 35 characters
GZS16_1 = Sample(
    "RAC-12345-6789-XX", GZS16_SELLER, GZS16_BUYER,
    (1, "1", "Ostanki od rezkanja", "2", "PCE", "121.50"),  # its VAT base (125)
    (("VAT", None, "20", "121.50", "24.30"), ("VAT", None, "8.5", "89.10", "7.57"),
     (None, None, None, "18.00", None)),
    "179.70", ("SI56051008013037180",))
GZS16_2 = Sample(
    "RAC-12345-6789-XX", GZS16_SELLER, GZS16_BUYER,
    (1, "1", "Ostanki od rezkanja", "2", "PCE", "122.85"),
    (("VAT", None, "22", "122.85", "27.03"), ("VAT", None, "9.5", "89.10", "8.46"),
     (None, None, None, "18.00", None)),
    "216.55", ("SI56051008013037180",))
MAX_CONTENT_ACCOUNTS = ("SE1212341234123412341234", "12341234567", "1112222", "121212")
MAX_CONTENT_VAT = (s25("10000.00", "2500.00"), ("VAT", "E", "0", "0.00", "0.00"))
PEPPOL = ("Snippet1", "SupplierOfficialName Ltd", "Buyer Official Name")
PEPPOL_BASE_VAT = (s25("1325.00", "331.25", "25.0"),)
SELLERCOMPANY = ("The Sellercompany Incorporated", "The Buyercompany")
XR_NAMES = ("[Seller name]", "[Buyer name]")
XR15_LINE: LineRow = (0, "0", "Anforderungsaufnahme", "1", "XPP", "850.00")
XR18_LINE: LineRow = (0, "Seminar: […]", "Seminar", "5", "DAY", "6700.00")
XR20_LINE: LineRow = (0, "1", "Behältermiete", "-1.0000", "C62", "-100.00")
XR_IBAN = "DE79000000001234567890"
XR18_ACCOUNTS = (XR_IBAN, "DE16000000002345678901")
KOKSMAAT = ("12115118", "De Koksmaat", "ODIN 59")
KOKSMAAT_VAT = (s25("183.23", "10.99", "6"), s25("46.37", "9.74", "21"))
TOSL108 = ("TOSL108", "Salescompany ltd.", "The Buyercompany")
TOSL108_VAT = (s25("1460.50", "365.13"), s25("1.00", "0.15", "15"),
               ("VAT", "E", "0", "-25.00", "0.00"))
TOSL110_EN = ("TOSL110", "SellerCompany", "Buyercompany ltd")
TOSL110_EN_VAT = (s25("1500.00", "375.00"), s25("2500.00", "300.00", "12"))

SAMPLES: dict[str, Sample] = {
    **{f"eslog20/sample_eSLOG20_INVOIC_v200{variant}.xml": TOSL110_ESLOG
       for variant in ("", "-signed", "_with_BT", "_with_BT-signed")},
    "eslog20/media24si-eslog2_inv.xml": Sample(
        "1-2019-154", "Company d.o.o.", "Recipient & Name",
        (0, "1", "Acme 0.33L", "2", "C62", "1.48"), (s25("1.48", "0.33", "22"),), "1.81",
        ("SI56111122223333456",)),
    "eslog16/sample_eSLOG16_1.xml": GZS16_1,
    "eslog16/sample_eSLOG16_1-signed.xml": GZS16_1,
    "eslog16/sample_eSLOG16_2.xml": GZS16_2,
    "eslog16/sample_eSLOG16_2-signed.xml": GZS16_2,
    "ubl/Invoice-Max_content.xml": Sample(
        "2018210", "The Global Chain Sweden AB", "Project services AB",
        (0, "1", "Universal product", "500", "MTR", "10000.00"), MAX_CONTENT_VAT, "12500.00",
        MAX_CONTENT_ACCOUNTS),
    "ubl/CreditNote-Max_content.xml": Sample(
        "2018210", "The Global Chain Sweden AB", "Project services AB",
        (0, "1", "Universal product", "500", "EA", "10000.00"), MAX_CONTENT_VAT, "12500.00",
        MAX_CONTENT_ACCOUNTS),
    "ubl/FT_G2G_TD01_con_Allegato_Bonifico_e_Split_Payment.xml": Sample(
        "1316/85", "Azienda Unita Sanitaria Locale di Reggio Emilia", "AZIENDA AUSL DI MODENA",
        (0, "1", "EBIXA 5MG/EROGAZIONE SOL. ORALE 50 ML", "20", "C62", "1246.00"),
        (("VAT", "B", "22", "1246.00", "274.12"),), "1246.00",
        ("IT64W0100003245243300306301",)),
    "ubl/peppol-bis3_Allowance-example.xml": Sample(
        *PEPPOL, (0, "1", "item name", "10", "C62", "4000.00"),
        (s25("4900.00", "1225.00"), ("VAT", "E", "0", "1000.00", "0.00")), "6125.00",
        ("IBAN32423940",)),
    "ubl/peppol-bis3_Vat-category-S.xml": Sample(
        *PEPPOL, (0, "1", "item name", "10", "C62", "4000.00"),
        (s25("5000.00", "1250.00"), s25("2000.00", "300.00", "15")), "8550.00",
        ("IBAN32423940",)),
    "ubl/peppol-bis3_base-example.xml": Sample(
        *PEPPOL, (0, "1", "item name", "7", "DAY", "2800.00"), PEPPOL_BASE_VAT, "1656.25",
        ("IBAN32423940",)),
    "ubl/peppol-bis3_base-creditnote-correction.xml": Sample(
        *PEPPOL, (1, "2", "item name 2", "-3", "DAY", "-1500.00"), PEPPOL_BASE_VAT, "1656.25",
        ("IBAN32423940",)),
    "ubl/peppol-bis3_base-negative-inv-correction.xml": Sample(
        "Correction1", *PEPPOL[1:], (0, "1", "item name", "-7", "DAY", "-2800.00"),
        (s25("-1325.00", "-331.25", "25.0"),), "-1656.25", ("IBAN32423940",)),
    # The E sample's cbc:ID really is "Vat-Z", as in the Z sample it was copied from.
    "ubl/peppol-bis3_vat-category-E.xml": Sample(
        "Vat-Z", *SELLERCOMPANY, (0, "1", "Test item, category Z", "10", "EA", "1200.00"),
        (("VAT", "E", "0", "1200.00", "0.00"),), "1200.00", ("SE1212341234123412",)),
    "ubl/peppol-bis3_vat-category-Z.xml": Sample(
        "Vat-Z", *SELLERCOMPANY, (0, "1", "Test item, category Z", "10", "EA", "1200.00"),
        (("VAT", "Z", "0", "1200.00", "0.00"),), "1200.00", ("SE1212341234123412",)),
    "ubl/peppol-bis3_vat-category-O.xml": Sample(
        "Vat-O", *SELLERCOMPANY, (0, "1", "Road tax", "1", "EA", "3200.00"),
        (("VAT", "O", None, "3200.00", "0.00"),), "3200.00", ("SE1212341234123412",)),
    "ubl/ubl-tc434-creditnote1.xml": Sample(
        "018304 / 28865", "My Supplier Company", "My Customer Company",
        (0, "1", "Exonération du versement du PP", "1.00", "C62", "100.11"),
        (("VAT", "E", "0.00", "100.11", "0.00"),), "100.11", ("BE91000000143476",)),
    "ubl/ubl-tc434-example1.xml": Sample(
        *KOKSMAAT, (0, "1", "PATAT FRITES 10MM 10KG", "2", "EA", "19.90"), KOKSMAAT_VAT,
        "250.33", ("NL57 RABO 0107307510", "NL03 INGB 0004489902")),
    "ubl/ubl-tc434-example2.xml": Sample(
        *TOSL108, (0, "1", "Laptop computer", "2", "EA", "1273.00"), TOSL108_VAT, "801.78",
        ("NO9386011117947",)),
    # Direct debit (49): the only account is the payer's mandate account, not the payee's.
    "ubl/ubl-tc434-example5.xml": Sample(
        *TOSL110_EN, (0, "1", "Printing paper", "1000", "EA", "1000.00"), TOSL110_EN_VAT,
        "2337.50", ()),
    "ubl/ubl-tc434-example7.xml": Sample(
        "INVOICE_test_7", "The Sellercompany Incorporated", "THe Buyercompany",
        (0, "1", "Road tax", "1", "EA", "2500.00"), (("VAT", "O", None, "3200.00", "0.00"),),
        "3200.00", ("SE1212341234123412",)),
    "ubl/xrechnung_01.15a-INVOICE_ubl.xml": Sample(
        "0000123456", *XR_NAMES, XR15_LINE, (s25("8980.00", "1706.20", "19"),), "10686.20",
        (XR_IBAN,)),
    "ubl/xrechnung_01.18a-INVOICE_ubl.xml": Sample(
        "PRG1502112", *XR_NAMES, XR18_LINE, (s25("8870.00", "1685.30", "19"),), "10555.30",
        XR18_ACCOUNTS),
    "ubl/xrechnung_01.20a-INVOICE_ubl.xml": Sample(
        "1234567890", "Betriebsstätte", "Kunde 1", XR20_LINE,
        (s25("300.00", "57.00", "19"),), "357.00", (XR_IBAN,)),
    "cii/CII_business_example_Z.xml": Sample(
        "2016166", "XXX AG", "XXX AG", (0, "1", "Festpreis", "1.000", "C62", "12122.59"),
        (("VAT", "Z", "0.00", "11693.87", "0.00"),), "11693.87", ("DE12500105170648489890",)),
    # Two payment means give the same IBAN: it is shown once.
    "cii/CII_example1.xml": Sample(
        *KOKSMAAT, (0, "1", "PATAT FRITES 10MM 10KG", "2", "H87", "19.90"), KOKSMAAT_VAT,
        "250.33", ("NL57 RABO 0107307510",)),
    "cii/CII_example2.xml": Sample(
        *TOSL108, (0, "1", "Laptop computer", "1", "NAR", "1273.00"), TOSL108_VAT, "801.78",
        ("NO9386011117947",)),
    "cii/CII_example5.xml": Sample(
        *TOSL110_EN, (0, "1", "Printing paper", "1000", "C62", "1000.00"), TOSL110_EN_VAT,
        "2337.50", ("DK1212341234123412", "A")),  # "A": as the sample writes it
    "cii/CII_example7.xml": Sample(
        "INVOICE_test_7", "The Sellercompany Incorporated", "THe Buyercompany",
        (0, "1", "Road tax", "1", "C62", "2500.00"), (("VAT", "O", None, "3200.00", "0.00"),),
        "3200.00", ("SE1212341234123412",)),
    "cii/XRechnung-O.xml": Sample(
        "150377292", "XX", "XX", (0, "1", "IndustriePolice", "1.0000", "ZZ", "83654.15"),
        (("VAT", "O", "0.0000", "385544.60", "0.00"),), "385544.60", ("XX",)),
    "cii/huf_example_cii.xml": Sample(
        "21/001003559/996", "DKV Euro Service GmbH + Co. KG",
        "HIL Heeresinstandsetzungslogistik GmbH",
        (0, "1", "DIZEL", "64.", "LTR", "23440.00"),  # "64.": the quantity as written
        (s25("69180.00", "18679.00", "27.00"),), "87859.00", ("DE26330403100827038100",)),
    "cii/xrechnung_01.15a-INVOICE_uncefact.xml": Sample(
        "0000123456", *XR_NAMES, XR15_LINE, (s25("8980.00", "1706.20", "19"),), "10686.20",
        (XR_IBAN,)),
    "cii/xrechnung_01.18a-INVOICE_uncefact.xml": Sample(
        "PRG1502112", *XR_NAMES, XR18_LINE, (s25("8870.00", "1685.30", "19"),), "10555.30",
        XR18_ACCOUNTS),
    "cii/xrechnung_01.20a-INVOICE_uncefact.xml": Sample(
        "1234567890", "Betriebsstätte", "Kunde 1", XR20_LINE,
        (s25("300.00", "57.00", "19.00"),), "357.00", (XR_IBAN,)),
}
ENVELOPE = "envelope/media24si-eslog2_envelope.xml"
ENVELOPE_INVOICE = "eslog20/media24si-eslog2_inv.xml"  # the invoice that envelope carries


def read(relative: str) -> ReadableInvoice:
    root = parse_xml((samples_dir() / relative).read_bytes(), relative)
    return readable_invoice(detect(root), root)


def vat_tuple(row: VatRow) -> VatTuple:
    return (row.tax_type, row.category, row.rate, row.taxable_amount, row.tax_amount)


# --- every sample ------------------------------------------------------------------------


def test_the_table_covers_every_invoice_sample() -> None:
    on_disk = sorted(path.relative_to(samples_dir()).as_posix()
                     for fmt in INVOICE_FORMATS for path in samples_dir().glob(f"{fmt}/*.xml"))
    assert on_disk == sorted(SAMPLES)


@pytest.mark.parametrize("relative", sorted(SAMPLES))
def test_sample_reads_as_a_person_reads_it(relative: str) -> None:
    expected = SAMPLES[relative]
    invoice = read(relative)
    index, *line = expected.line
    found = invoice.lines[index]
    assert (invoice.number, invoice.seller.name, invoice.buyer.name) == (
        expected.number, expected.seller, expected.buyer)
    assert [found.id, found.name, found.quantity, found.unit_code, found.net_amount] == line
    assert tuple(vat_tuple(row) for row in invoice.vat) == expected.vat
    assert (invoice.totals.payable, invoice.payment.accounts) == (expected.payable,
                                                                 expected.accounts)
    assert invoice.lines_truncated is False


# The same invoice in three syntaxes; only e-SLOG writes the rounding (BT-114) of 0.
TOSL110_SYNTAXES = {"eslog20/sample_eSLOG20_INVOIC_v200_with_BT.xml": "0.00",
                    "ubl/ubl-tc434-example5.xml": None, "cii/CII_example5.xml": None}


@pytest.mark.parametrize("relative", sorted(TOSL110_SYNTAXES))
def test_tosl110_reads_the_same_in_three_syntaxes(relative: str) -> None:
    invoice = read(relative)
    assert (invoice.document_type, invoice.type_name, invoice.issue_date, invoice.due_date,
            invoice.delivery_date, invoice.period_start, invoice.period_end) == (
        "380", "invoice", "2013-04-10", "2013-05-10", "2013-04-15", "2013-03-10", "2013-04-10")
    assert (invoice.currency, invoice.tax_currency, invoice.order_reference,
            invoice.contract_reference, invoice.preceding_invoice, invoice.buyer_reference) == (
        "DKK", "EUR", "PO4711", "2013-05", "TOSL109", "qwerty")
    assert invoice.totals == Totals(
        line_total="4000.00", allowances="150.00", charges="150.00", tax_exclusive="4000.00",
        tax="675.00", tax_in_tax_currency="628.62", tax_inclusive="4675.00",
        prepaid="2337.50", rounding=TOSL110_SYNTAXES[relative], payable="2337.50")
    assert invoice.payment.reference == "Payref1"
    assert any(note.startswith("Ordered through our website") for note in invoice.notes)
    seller = invoice.seller
    assert (seller.vat_id, seller.city, seller.postcode, seller.country, seller.contact_name) == (
        "NL16356706", "Grootstad", "54321", "NL", "Anthon Larsen")
    assert (invoice.buyer.vat_id, invoice.buyer.contact_name) == ("DK16356607", "John Hansen")
    assert invoice.seller.street is not None
    assert invoice.seller.street.startswith("Hoofdstraat 4, Om de hoek")
    # The GZS sample spells the payee "Dagober", its twins "Dagobert".
    assert invoice.payee is not None
    assert invoice.payee.name in ("Dagober Duck", "Dagobert Duck")
    first = invoice.lines[0]
    assert (first.note, first.unit_price, first.price_base_quantity, first.vat_category,
            first.vat_rate) == ("first line", "1.00", "1", "S", "25")


def test_eslog20_sample_in_detail() -> None:
    invoice = read("eslog20/sample_eSLOG20_INVOIC_v200_with_BT.xml")
    assert invoice.tax_point_date == "2013-04-10"
    # GEN (BT-22), REG (BT-33) and AGM (BT-120), in the order the invoice has them
    assert invoice.notes == ("Export", "Ordered through our website",
                             "Exempt New Means of Transport")
    assert invoice.seller == Party(
        name="SellerCompany", vat_id="NL16356706", tax_number="NL16356706",
        registration_id="NL16356706", street="Hoofdstraat 4, Om de hoek, Om de hoek 2",
        city="Grootstad", postcode="54321", country="NL", contact_name="Anthon Larsen",
        contact_phone="3198989898", contact_email="anthon@selco.nl")
    assert invoice.buyer.street == "Anystreet, Building 1, 5th floor, 5th door"
    assert invoice.lines[0] == Line(
        id="1", name="Printing paper", description="printing paper, 2mm", note="first line",
        quantity="1000", unit_code="C62", unit_price="1.00", price_base_quantity="1",
        vat_category="S", vat_rate="25", net_amount="1000.00")
    assert invoice.payment == Payment(
        means_code="30", accounts=("DK1212341234123412",), bic="DNBANOKK",
        reference="Payref1", terms="50% prepaid, 50% within one month Additional text line 2"
        " Additional text line 3 Additional text line 4 Additional text line 5")


def test_eslog20_media24si_sample_has_a_slovenian_reference() -> None:
    invoice = read(ENVELOPE_INVOICE)
    assert (invoice.payment.reference, invoice.payment.reference_model) == (
        "SI123838173927", "SI12")
    assert invoice.payment.terms == ("PROSIMO, DA PRI PLAČILU & NAVEDETE SKLICEVALNO "
                                     "ŠTEVILKO ŠT. 873912783219731.")
    # Two ON references, the first with a number wins; the empty AEP, CT, ... are absent.
    assert (invoice.order_reference, invoice.contract_reference) == ("NAR-123456", None)
    assert invoice.notes[1].startswith("Matična št.: 6589049, Davčna št.: SI21423512, "
                                       "Okrožno sodišče v Ljubljani, < & vložna št.")
    assert (invoice.seller.registration_id, invoice.buyer.registration_id) == (
        "555555555", "666666666")
    assert invoice.payee is None


def test_eslog16_sample_in_detail() -> None:
    invoice = read("eslog16/sample_eSLOG16_2.xml")
    assert (invoice.issue_date, invoice.due_date, invoice.delivery_date, invoice.period_start,
            invoice.period_end) == (
        "2012-04-01", "2012-12-15", "2012-03-31", "2012-01-01", "2012-04-30")
    assert (invoice.currency, invoice.order_reference, invoice.contract_reference) == (
        "EUR", "NAR-2012-512", "POG-2012-12")
    # Tekst2..5 joined: a full 70-character part was cut mid-word ("na" + "ročnika");
    # one with a trailing space, or a shorter one, ended a word.
    assert invoice.notes == (
        "Račun za opravljene storitve marec 2012",
        "Poljubno besedilo, v katerem se opiše karkoli je za izdajatelja ali naročnika, "
        "prejemnika pomembno.",
        "Posebno besedilo kot ga predpisuje zakonodaja in se nanaša na posebnosti pri "
        "obračunu davka na računu, s sklicevanjem na člen itd.",
        "Prosimo, da račun poravnate na transakcijski račun: SI56 9900 0000 3722 222 odprt "
        "pri Naši banki d.d.. Za nepravočasna plačila zaračunavamo z zakonom predpisane "
        "zamudne obresti.",
        "Pravna oseba SETCCE je vpisana pri Okrožnem sodišču v Ljubljani, št. reg. vpisa "
        "061/13422800, dejavnost:73.102, ustanovitveni vložek 10.432,22 EUR.")
    assert invoice.seller == Party(
        name="SETCCE", vat_id="SI39705684", registration_id="1594389",
        street="Tehnološki park 21, Objekt D, nadstropje 4", city="Ljubljana",
        postcode="1000", country="SI", contact_name="Monika Baksa",
        contact_phone="38616204500")
    assert invoice.buyer.street == ("Daleč najdaljša ulica po številu znakov 35A, "
                                    "Nadstropje 4, vrata 107")
    assert invoice.lines[0] == Line(name="Mizarske storitve", quantity="0", unit_code="PCE",
                                    unit_price="0.00")
    assert invoice.lines[2] == Line(id="2", name="Rezkanje", quantity="3", unit_code="HUR",
                                    unit_price="33.00", vat_rate="9.50", net_amount="89.10")
    assert invoice.totals == Totals(
        line_total="269.00", allowances="13.50", tax_exclusive="211.95", tax="35.49",
        tax_inclusive="265.44", prepaid="50.00", rounding="-0.01", payable="216.55")
    assert invoice.payment == Payment(
        accounts=("SI56051008013037180",), bic="ABANSI2XXXX",
        reference="SI005026024-70200008-1", reference_model="SI00")
    assert invoice.payee is None


def test_ubl_max_content_in_detail() -> None:
    invoice = read("ubl/Invoice-Max_content.xml")
    assert (invoice.due_date, invoice.tax_point_date, invoice.delivery_date) == (
        "2018-03-07", "2018-02-08", "2017-12-01")
    assert invoice.notes == ("Document level Note\nLine break should be respected here.",)
    assert (invoice.buyer_reference, invoice.preceding_invoice) == (
        "Buyer reference", "Preceding invoice no.1")
    assert invoice.seller == Party(
        name="The Global Chain Sweden AB", vat_id="SE123456789001",
        tax_number="Godkänd för F-skatt", registration_id="1234567890",
        street="Streetname-line1, AddStreetname-line2, Address-line3", city="Big City",
        postcode="11122", country="SE", contact_name="A Persson",
        contact_phone="0201234567", contact_email="info@UCS.se")
    assert invoice.payee == Party(name="Finansiell Support u.p.a.",
                                  registration_id="5566778899")
    assert invoice.lines[0].description == "Universal product, customized with option X"
    assert invoice.lines[0].note == "Line level Note\nLine break should be respected here."
    assert invoice.vat[1].exemption_reason == "EU Direcive Article 132, section 1(g)"
    assert (invoice.totals.tax, invoice.totals.tax_in_tax_currency, invoice.tax_currency) == (
        "2500.00", "249.00", "EUR")
    assert (invoice.payment.means_code, invoice.payment.bic, invoice.payment.reference) == (
        "30", "BANKSBIC", "1800355")
    assert invoice.payment.terms == ("30 days net. Penalty rate 12 %\n"
                                     "Line break should be respected here.")


def test_ubl_credit_note_reads_its_own_elements() -> None:
    invoice = read("ubl/CreditNote-Max_content.xml")
    assert (invoice.document_type, invoice.type_name) == ("381", "credit-note")
    assert invoice.lines[0].quantity == "500"  # CreditedQuantity
    # The sample's only PaymentDueDate is inside a comment: commented-out XML is no data.
    assert invoice.due_date is None


@pytest.mark.parametrize(("relative", "code", "name"), [
    ("ubl/xrechnung_01.18a-INVOICE_ubl.xml", "384", "corrected"),
    ("cii/xrechnung_01.18a-INVOICE_uncefact.xml", "384", "corrected"),
    ("ubl/xrechnung_01.20a-INVOICE_ubl.xml", "389", "self-billed"),
    ("cii/xrechnung_01.20a-INVOICE_uncefact.xml", "389", "self-billed"),
    ("ubl/ubl-tc434-creditnote1.xml", "381", "credit-note")])
def test_document_type_and_its_name(relative: str, code: str, name: str) -> None:
    invoice = read(relative)
    assert (invoice.document_type, invoice.type_name) == (code, name)


def test_cii_exemption_reason_and_a_missing_tax_total() -> None:
    invoice = read("cii/CII_example7.xml")
    assert invoice.vat[0].exemption_reason == "Tax"
    assert (invoice.totals.tax, invoice.totals.tax_exclusive, invoice.totals.tax_inclusive) == (
        None, "3200.00", "3200.00")


# --- the envelope ------------------------------------------------------------------------


def test_the_envelope_is_no_invoice_but_agrees_with_its_invoice() -> None:
    envelope = parse_xml((samples_dir() / ENVELOPE).read_bytes(), ENVELOPE)
    assert detect(envelope) == "envelope"
    with pytest.raises(ValueError, match="envelope"):
        readable_invoice("envelope", envelope)
    # What the envelope says (payment_data, sender, receiver), read off it by hand.
    invoice = read(ENVELOPE_INVOICE)
    assert (invoice.totals.payable, invoice.currency, invoice.due_date) == (
        "1.81", "EUR", "2023-10-23")
    assert (invoice.payment.accounts, invoice.payment.bic, invoice.payment.reference) == (
        ("SI56111122223333456",), "BAKOSI2XXXX", "SI123838173927")
    assert (invoice.seller.name, invoice.seller.vat_id, invoice.seller.street) == (
        "Company d.o.o.", "12345678", "Our Address 100")
    assert (invoice.buyer.name, invoice.buyer.vat_id, invoice.buyer.street) == (
        "Recipient & Name", "87654321", "Recipient Address & 101")


def test_a_halcom_package_is_no_invoice_either() -> None:
    package = parse_xml(b"<package xmlns='hal:icl:01'><envelope/></package>", "p.xml")
    with pytest.raises(ValueError, match="envelope"):
        readable_invoice(detect(package), package)


# --- invoices that lack most fields ------------------------------------------------------

UBL_NS = ('xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"'
          ' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
          ' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"')
CII_NS = ('xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"'
          ' xmlns:ram="urn:un:unece:uncefact:data:standard:'
          'ReusableAggregateBusinessInformationEntity:100"'
          ' xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"')
ZF_NS = ('xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"'
         ' xmlns:ram="urn:un:unece:uncefact:data:standard:'
         'ReusableAggregateBusinessInformationEntity:12"')

# Each holds a number and one line with a name, a quantity of 2 and an amount of 12,50 as
# some producers write it; nothing else.
SPARSE = {
    "eslog20": """<Invoice xmlns="urn:eslog:2.00"><M_INVOIC>
 <S_BGM><C_C106><D_1004>R-1</D_1004></C_C106></S_BGM>
 <G_SG26><S_IMD><D_7077>F</D_7077><C_C273><D_7008>Item</D_7008></C_C273></S_IMD>
 <S_QTY><C_C186><D_6063>47</D_6063><D_6060>2</D_6060></C_C186></S_QTY>
 <G_SG27><S_MOA><C_C516><D_5025>203</D_5025><D_5004>12,50</D_5004></C_C516></S_MOA></G_SG27>
 </G_SG26></M_INVOIC></Invoice>""",
    "eslog16": """<IzdaniRacunEnostavni><Racun>
 <GlavaRacuna><StevilkaRacuna>R-1</StevilkaRacuna></GlavaRacuna>
 <PostavkeRacuna><OpisiArtiklov><KodaOpisaArtikla>F</KodaOpisaArtikla>
  <OpisArtikla><OpisArtikla1>Item</OpisArtikla1></OpisArtikla></OpisiArtiklov>
  <KolicinaArtikla><Kolicina>2</Kolicina></KolicinaArtikla>
  <ZneskiPostavke><VrstaZneskaPostavke>203</VrstaZneskaPostavke>
   <ZnesekPostavke>12,50</ZnesekPostavke></ZneskiPostavke></PostavkeRacuna>
 </Racun></IzdaniRacunEnostavni>""",
    "ubl": f"""<Invoice {UBL_NS}><cbc:ID>R-1</cbc:ID>
 <cac:InvoiceLine><cbc:InvoicedQuantity>2</cbc:InvoicedQuantity>
  <cbc:LineExtensionAmount>12,50</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Item</cbc:Name></cac:Item></cac:InvoiceLine></Invoice>""",
    "cii": f"""<rsm:CrossIndustryInvoice {CII_NS}>
 <rsm:ExchangedDocument><ram:ID>R-1</ram:ID></rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction><ram:IncludedSupplyChainTradeLineItem>
  <ram:SpecifiedTradeProduct><ram:Name>Item</ram:Name></ram:SpecifiedTradeProduct>
  <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity>2</ram:BilledQuantity>
  </ram:SpecifiedLineTradeDelivery>
  <ram:SpecifiedLineTradeSettlement><ram:SpecifiedTradeSettlementLineMonetarySummation>
   <ram:LineTotalAmount>12,50</ram:LineTotalAmount>
  </ram:SpecifiedTradeSettlementLineMonetarySummation></ram:SpecifiedLineTradeSettlement>
 </ram:IncludedSupplyChainTradeLineItem></rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""",
    "zugferd1": f"""<rsm:CrossIndustryDocument {ZF_NS}>
 <rsm:HeaderExchangedDocument><ram:ID>R-1</ram:ID></rsm:HeaderExchangedDocument>
 <rsm:SpecifiedSupplyChainTradeTransaction><ram:IncludedSupplyChainTradeLineItem>
  <ram:SpecifiedTradeProduct><ram:Name>Item</ram:Name></ram:SpecifiedTradeProduct>
  <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity>2</ram:BilledQuantity>
  </ram:SpecifiedSupplyChainTradeDelivery>
  <ram:SpecifiedSupplyChainTradeSettlement><ram:SpecifiedTradeSettlementMonetarySummation>
   <ram:LineTotalAmount>12,50</ram:LineTotalAmount>
  </ram:SpecifiedTradeSettlementMonetarySummation></ram:SpecifiedSupplyChainTradeSettlement>
 </ram:IncludedSupplyChainTradeLineItem></rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>""",
}
EMPTY = {
    "eslog20": "<Invoice xmlns='urn:eslog:2.00'/>",
    "eslog16": "<IzdaniRacunEnostavni/>",
    "ubl": "<CreditNote xmlns='urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2'/>",
    "cii": "<CrossIndustryInvoice xmlns='urn:un:unece:uncefact:data:standard:"
           "CrossIndustryInvoice:100'/>",
    "zugferd1": "<CrossIndustryDocument xmlns='urn:ferd:CrossIndustryDocument:invoice:1p0'/>",
}


def test_every_format_has_both_templates() -> None:
    assert sorted(SPARSE) == sorted(EMPTY) == sorted(INVOICE_FORMATS)


@pytest.mark.parametrize("fmt", sorted(SPARSE))
def test_an_invoice_missing_most_fields_renders_what_is_there(fmt: str) -> None:
    invoice = readable_invoice(fmt, parse_xml(SPARSE[fmt].encode(), "t.xml"))
    # A value that is not a decimal is shown as written, not hidden.
    assert invoice == ReadableInvoice(
        format=fmt, number="R-1",
        lines=(Line(name="Item", quantity="2", net_amount="12,50"),))


@pytest.mark.parametrize("fmt", sorted(EMPTY))
def test_an_empty_invoice_renders_with_everything_none(fmt: str) -> None:
    invoice = readable_invoice(fmt, parse_xml(EMPTY[fmt].encode(), "t.xml"))
    assert invoice == ReadableInvoice(format=fmt)
    assert (invoice.seller, invoice.buyer, invoice.payee) == (Party(), Party(), None)


@pytest.mark.parametrize("fmt", sorted(EMPTY))
def test_a_document_of_another_format_reads_as_empty(fmt: str) -> None:
    other = next(text for name, text in EMPTY.items() if name != fmt)
    assert readable_invoice(fmt, parse_xml(other.encode(), "t.xml")) == ReadableInvoice(
        format=fmt)


@pytest.mark.parametrize(("written", "shown"), [
    ("2024-01-31", "2024-01-31"), ("2024-01-31T00:00:00.0Z", "2024-01-31"),
    ("20240131", "2024-01-31"), ("31.1.2024", "31.1.2024"), ("2024-02-30", "2024-02-30")])
def test_dates_are_iso_or_as_written(written: str, shown: str) -> None:
    root = parse_xml(f"<Invoice {UBL_NS}><cbc:IssueDate>{written}</cbc:IssueDate>"
                     "</Invoice>".encode(), "t.xml")
    assert readable_invoice("ubl", root).issue_date == shown


@pytest.mark.parametrize(("written", "shown"), [
    ("1220", "1220.00"), (" -1656.250 ", "-1656.25"), ("1.815", "1.815"), ("0.1000", "0.10"),
    ("1e3", "1e3"), ("NaN", "NaN"), ("  ", None)])
def test_amounts_are_normalised_or_as_written(written: str, shown: str | None) -> None:
    root = parse_xml(f"<Invoice {UBL_NS}><cac:LegalMonetaryTotal><cbc:PayableAmount>{written}"
                     "</cbc:PayableAmount></cac:LegalMonetaryTotal></Invoice>".encode(), "t.xml")
    assert readable_invoice("ubl", root).totals.payable == shown


def test_an_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="other"):
        readable_invoice("other", parse_xml(b"<racun/>", "t.xml"))


# --- markup in text fields ---------------------------------------------------------------

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert('x')&lt;/script&gt;"


@pytest.mark.parametrize("fmt", sorted(INVOICE_FORMATS))
def test_markup_in_a_text_field_stays_literal_text(fmt: str) -> None:
    """Escaped markup is the text itself: it comes back as written, for the template to
    escape, never interpreted, stripped or "sanitised" here."""
    xml = {
        "eslog20": f"""<Invoice xmlns="urn:eslog:2.00"><M_INVOIC>
 <S_FTX><D_4451>GEN</D_4451><C_C108><D_4440>{ESCAPED}</D_4440></C_C108></S_FTX>
 <G_SG2><S_NAD><D_3035>SE</D_3035><C_C080><D_3036>{ESCAPED}</D_3036></C_C080></S_NAD></G_SG2>
 </M_INVOIC></Invoice>""",
        "eslog16": f"""<IzdaniRacunEnostavni><Racun>
 <PoljubnoBesedilo><Besedilo><Tekst1>GLAVA_TEKST</Tekst1><Tekst2>{ESCAPED}</Tekst2>
 </Besedilo></PoljubnoBesedilo>
 <PodatkiPodjetja><NazivNaslovPodjetja><VrstaPartnerja>II</VrstaPartnerja>
 <NazivPartnerja><NazivPartnerja1>{ESCAPED}</NazivPartnerja1></NazivPartnerja>
 </NazivNaslovPodjetja></PodatkiPodjetja></Racun></IzdaniRacunEnostavni>""",
        "ubl": f"""<Invoice {UBL_NS}><cbc:Note><![CDATA[{SCRIPT}]]></cbc:Note>
 <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>{ESCAPED}</cbc:Name>
 </cac:PartyName></cac:Party></cac:AccountingSupplierParty></Invoice>""",
        "cii": f"""<rsm:CrossIndustryInvoice {CII_NS}><rsm:ExchangedDocument>
 <ram:IncludedNote><ram:Content>{ESCAPED}</ram:Content></ram:IncludedNote>
 </rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>
 <ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>{ESCAPED}</ram:Name>
 </ram:SellerTradeParty></ram:ApplicableHeaderTradeAgreement>
 </rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>""",
        "zugferd1": f"""<rsm:CrossIndustryDocument {ZF_NS}><rsm:HeaderExchangedDocument>
 <ram:IncludedNote><ram:Content>{ESCAPED}</ram:Content></ram:IncludedNote>
 </rsm:HeaderExchangedDocument><rsm:SpecifiedSupplyChainTradeTransaction>
 <ram:ApplicableSupplyChainTradeAgreement><ram:SellerTradeParty>
 <ram:Name>{ESCAPED}</ram:Name></ram:SellerTradeParty></ram:ApplicableSupplyChainTradeAgreement>
 </rsm:SpecifiedSupplyChainTradeTransaction></rsm:CrossIndustryDocument>""",
    }[fmt]
    invoice = readable_invoice(fmt, parse_xml(xml.encode(), "t.xml"))
    assert (invoice.notes, invoice.seller.name) == ((SCRIPT,), SCRIPT)


def test_elements_inside_a_text_field_give_their_text_only() -> None:
    """A producer that puts markup as elements into a text field: the text is data, the
    elements are not rendered (and a comment is no text)."""
    root = parse_xml(f"<Invoice {UBL_NS}><cbc:Note>a <b>bold</b> <script>x()</script>"
                     "<!-- hidden --> end</cbc:Note></Invoice>".encode(), "t.xml")
    assert readable_invoice("ubl", root).notes == ("a bold x() end",)


def test_a_party_code_is_compared_never_evaluated() -> None:
    """The document supplies text only: a party code written as an XPath matches nothing."""
    root = parse_xml(b"""<Invoice xmlns="urn:eslog:2.00"><M_INVOIC>
 <G_SG2><S_NAD><D_3035>SE' or '1'='1</D_3035><C_C080><D_3036>Fake</D_3036></C_C080></S_NAD>
 </G_SG2></M_INVOIC></Invoice>""", "t.xml")
    assert readable_invoice("eslog20", root).seller == Party()


# --- the line cap ------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "truncated"), [(3, False), (4, True)])
def test_lines_beyond_the_cap_are_left_out_and_said_so(
        monkeypatch: pytest.MonkeyPatch, count: int, truncated: bool) -> None:
    monkeypatch.setattr(readable, "MAX_LINES", 3)
    lines = "".join(f"<cac:InvoiceLine><cbc:ID>{n}</cbc:ID></cac:InvoiceLine>"
                    for n in range(1, count + 1))
    root = parse_xml(f"<Invoice {UBL_NS}>{lines}</Invoice>".encode(), "t.xml")
    invoice = readable_invoice("ubl", root)
    assert [line.id for line in invoice.lines] == ["1", "2", "3"]
    assert invoice.lines_truncated is truncated


def test_the_cap_is_ten_thousand_lines() -> None:
    assert readable.MAX_LINES == 10_000
