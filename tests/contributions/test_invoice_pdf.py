"""The invoice, credit note and pro-forma PDFs, read back as a person would read them."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal

import pytest

from app.common.documents import epc_qr
from app.common.languages import Language
from app.contributions.models import InvoiceKind, PaymentMethod, PolicyExchangeRate
from app.contributions.services.assessments import assess_member, billing_amount
from app.contributions.services.documents import render_credit_note_pdf
from app.contributions.services.invoicing import (
    NothingToBill,
    create_draft_invoice,
    issue_credit_note,
    issue_invoice,
    planned_contribution,
    render_pro_forma,
    store_credit_note_pdf,
    store_invoice_pdf,
)
from app.contributions.services.payments import record_payment
from app.extensions import db

TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def pdf_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    # Babel separates thousands with (narrow) no-break spaces; compare with plain ones.
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def image_count(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        ["pdfimages", "-list", str(path)], capture_output=True, check=True
    ).stdout.decode()
    rows = [line.split() for line in listing.strip().splitlines()[2:]]  # after two header lines
    return sum(1 for row in rows if row[2] == "image")  # not counting transparency masks


@pytest.fixture
def operator(make_user):
    return make_user("operations")


def issued_in(language, make_member, operator, hub=None, amount="10000.00", **member_overrides):
    member = (
        make_member(language=language, hub=hub, **member_overrides)
        if hub
        else make_member(language=language, **member_overrides)
    )
    invoice = create_draft_invoice(member, 2027, [("Annual contribution", Decimal(amount))], operator)
    issue_invoice(invoice, operator, issued_on=date(2027, 1, 15))
    store_invoice_pdf(invoice)
    return invoice


def test_a_french_invoice_reads_in_french(make_member, operator):
    invoice = issued_in(
        Language.FR,
        make_member,
        operator,
        billing_address="Ministère des Finances\nAvenue Carde\nDakar",
        country_code="SN",
    )
    text = pdf_text(invoice.pdf_bytes)
    assert "Facture" in text and "BE-2027-0001" in text
    assert "10 000,00 €" in text
    assert "BE71096123456769" in text and "GKCCBEBB" in text
    assert "15 janvier 2027" in text and "14 février 2027" in text  # issue and due dates
    assert "Exonéré de TVA, art. 44" in text and "Enregistrée à Bruxelles" in text
    assert "Tributary Hub" in text and "BE0403170701" in text and "0403.170.701" in text
    assert "Ministère des Finances" in text and "Dakar" in text
    assert invoice.member.contacts[0].name in text
    assert "date d'échéance" in text.lower()


def test_a_spanish_invoice_reads_in_spanish(make_member, operator):
    text = pdf_text(issued_in(Language.ES, make_member, operator).pdf_bytes)
    assert "Factura" in text and "BE-2027-0001" in text
    assert "10.000,00 €" in text
    assert "BE71096123456769" in text
    assert "Exento de IVA" in text and "15 de enero de 2027" in text


def test_an_english_dollar_invoice_shows_account_and_routing_numbers(make_hub, make_member, operator):
    headquarters = make_hub(
        name="Washington DC",
        invoice_prefix="HQ",
        base_currency="USD",
        iban="",
        bic="",
        account_number="000123456789",
        routing_number="026009593",
    )
    invoice = issued_in(Language.EN, make_member, operator, hub=headquarters)
    text = pdf_text(invoice.pdf_bytes)
    assert "Invoice" in text and "HQ-2027-0001" in text and "$10,000.00" in text
    assert "000123456789" in text and "026009593" in text
    assert "quoting this reference" in text


def test_euro_invoices_carry_a_sepa_qr_code_and_others_do_not(make_hub, make_member, operator, tmp_path):
    euro = issued_in(Language.EN, make_member, operator)
    assert image_count(euro.pdf_bytes, tmp_path) == 1
    dollar_hub = make_hub(name="Washington DC", invoice_prefix="HQ", base_currency="USD")
    dollar = issued_in(Language.EN, make_member, operator, hub=dollar_hub)
    assert image_count(dollar.pdf_bytes, tmp_path) == 0


def test_the_sepa_qr_code_is_made_only_for_euro_amounts_to_an_iban(hub):
    assert epc_qr(hub, Decimal("10000.00"), "EUR", "BE-2027-0001").startswith("data:image/png;base64,")
    assert epc_qr(hub, Decimal("10000.00"), "USD", "HQ-2027-0001") is None
    hub.iban = ""
    assert epc_qr(hub, Decimal("10000.00"), "EUR", "BE-2027-0001") is None


def test_the_pay_link_is_printed_when_online_payment_is_configured(app, make_member, operator, tmp_path):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    try:
        invoice = issued_in(Language.EN, make_member, operator)
    finally:
        app.config.update(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
    text = pdf_text(invoice.pdf_bytes)
    assert "Or pay online:" in text and "http://localhost/pay/" in text
    assert image_count(invoice.pdf_bytes, tmp_path) == 2  # the SEPA code and the pay-link code


def test_without_online_payment_there_is_no_pay_link(make_member, operator):
    text = pdf_text(issued_in(Language.EN, make_member, operator).pdf_bytes)
    assert "/pay/" not in text and "pay online" not in text


def test_the_hubs_logo_is_embedded(make_hub, make_member, operator, tmp_path):
    hub = make_hub(invoice_prefix="LG", base_currency="USD", logo_bytes=TINY_PNG, logo_mime_type="image/png")
    invoice = issued_in(Language.EN, make_member, operator, hub=hub)
    assert image_count(invoice.pdf_bytes, tmp_path) == 1


def test_a_pro_forma_is_marked_and_has_no_number(make_member, operator):
    draft = create_draft_invoice(
        make_member(language=Language.FR), 2027, [("Contribution", Decimal("10000.00"))], operator
    )
    text = pdf_text(render_pro_forma(draft))
    assert "PRO FORMA" in text and "10 000,00 €" in text
    assert "BE-2027" not in text and "Numéro de facture" not in text
    assert "engagement budgétaire" in text


def test_a_planned_contribution_pro_forma_is_in_the_members_language(make_member, make_policy, operator):
    make_policy(fiscal_year=2028, currency="EUR", lower_middle="12500.00")
    member = make_member(language=Language.ES, income_group="lower_middle", fiscal_year=2028)
    text = pdf_text(render_pro_forma(planned_contribution(member, 2028)))
    assert "PRO FORMA" in text and "Contribución anual, ejercicio fiscal 2028" in text
    assert "12.500,00 €" in text


def test_a_credit_note_pdf_refers_to_its_invoice(make_member, operator):
    invoice = issued_in(Language.FR, make_member, operator)
    note = issue_credit_note(invoice, Decimal("2500.00"), "Réduction décidée par le comité", operator)
    store_credit_note_pdf(note)
    text = pdf_text(note.pdf_bytes)
    assert "Note de crédit" in text and "BE-CN-2027-0001" in text and "BE-2027-0001" in text
    assert "2 500,00 €" in text and "7 500,00 €" in text and "Réduction décidée par le comité" in text


def test_a_credit_note_pdf_rendered_later_prints_the_balance_it_left_when_issued(make_member, operator):
    invoice = issued_in(Language.EN, make_member, operator)
    note = issue_credit_note(invoice, Decimal("2500.00"), "Reduced by the committee", operator)
    record_payment(
        invoice.member, Decimal("1000.00"), "EUR", date(2027, 2, 1), PaymentMethod.WIRE, operator,
        allocations=[(invoice, Decimal("1000.00"), None)],
    )  # fmt: skip
    assert invoice.balance_due == Decimal("6500.00")
    store_credit_note_pdf(note)  # after the payment, as a render that failed at first and was made again
    text = pdf_text(note.pdf_bytes)
    assert "Balance due on the invoice after this credit note €7,500.00" in " ".join(text.split())
    assert "6,500.00" not in text


def test_a_credit_note_from_before_its_balance_was_kept_renders_without_it(make_member, operator):
    note = issue_credit_note(issued_in(Language.EN, make_member, operator), Decimal("10.00"), "Why", operator)
    note.balance_after = None  # as the notes issued before the balance was kept (their PDF stored already)
    text = pdf_text(render_credit_note_pdf(note, note.invoice))
    assert "Credit note" in text and "Balance due on the invoice after" not in text


# --- Annual contributions converted from the policy's currency ---------------------------------------------


def dollar_policy(make_policy, fiscal_year=2027, rate="0.92", **amounts):
    policy = make_policy(fiscal_year=fiscal_year, currency="USD", **amounts)
    if rate is not None:
        policy.exchange_rates.append(PolicyExchangeRate(currency="EUR", rate=Decimal(rate)))
    db.session.flush()
    return policy


def test_a_converted_annual_invoice_says_what_was_assessed_and_at_which_rate(
    make_member, make_policy, operator
):
    dollar_policy(make_policy, lower_middle="10000.00")
    member = make_member(language=Language.FR, income_group="lower_middle")
    billing = billing_amount(assess_member(member, 2027))
    invoice = create_draft_invoice(
        member,
        2027,
        [("Contribution annuelle", billing.amount)],
        operator,
        kind=InvoiceKind.ANNUAL_CONTRIBUTION,
        conversion=billing,
    )
    issue_invoice(invoice, operator, issued_on=date(2027, 1, 15))
    store_invoice_pdf(invoice)
    text = pdf_text(invoice.pdf_bytes)

    assert "9 200,00 €" in text and "EUR" in text
    assert (
        " ".join(text.split()).count(
            "Contribution fixée à 10 000,00 USD, convertie au taux de 1 USD = 0,9200 EUR "
            "(taux budgétaire de l'exercice 2027)."
        )
        == 1
    )


def test_an_invoice_in_the_policys_currency_has_no_conversion_line(make_member, operator):
    text = pdf_text(issued_in(Language.EN, make_member, operator).pdf_bytes)
    assert "Assessed at" not in text and "budget rate" not in text


def test_a_planned_pro_forma_is_converted_into_the_hubs_currency(make_member, make_policy, operator):
    dollar_policy(make_policy, fiscal_year=2028, rate="0.9", lower_middle="12500.00")
    member = make_member(language=Language.ES, income_group="lower_middle", fiscal_year=2028)
    text = " ".join(pdf_text(render_pro_forma(planned_contribution(member, 2028))).split())
    assert "PRO FORMA" in text and "11.250,00 €" in text and "12.500,00 €" not in text
    assert (
        "Contribución fijada en 12.500,00 USD, convertida al tipo de 1 USD = 0,9000 EUR "
        "(tipo presupuestario del ejercicio 2028)."
    ) in text


def test_without_the_years_rate_there_is_no_planned_pro_forma(make_member, make_policy, operator):
    dollar_policy(make_policy, fiscal_year=2028, rate=None)
    member = make_member(income_group="lower_middle", fiscal_year=2028)
    with pytest.raises(NothingToBill, match="No FY2028 rate from USD to EUR in the contribution policy."):
        render_pro_forma(planned_contribution(member, 2028))
