"""Demo collection data: one camt.053 statement per hub account, imported through the real import, with
entries that match by reference, by invoice number in the text and by amount only, an overpayment, one with
bank charges deducted, a Stripe payout and one that matches nothing; and a few invoices with what holds their
payment up.

Runs after the demo payments; a hub whose demo statement exists is skipped, so running twice adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

import sqlalchemy as sa

from ...common.money import quantize
from ...common.time import today
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    BankStatement,
    BlockerDocumentKind,
    Invoice,
    InvoiceBlocker,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from ..services.bank_import import import_statement_file
from ..services.payment_blockers import request_document, save_blocker
from ..services.payment_references import display_reference, reference_of
from ..services.payments import record_payment

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
#: Stripe's demo fee: 2.9% + 0.30, as on a card payment.
STRIPE_RATE, STRIPE_FIXED = Decimal("0.029"), Decimal("0.30")


def _filename(hub: Hub) -> str:
    return f"demo-camt053-{hub.invoice_prefix.lower()}.xml"


def _open_invoices(hub: Hub) -> list[Invoice]:
    return list(
        db.session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.hub_id == hub.id,
                Invoice.status == InvoiceStatus.ISSUED,
                Invoice.amount_paid == 0,
            )
            .order_by(Invoice.fiscal_year.desc(), Invoice.id)
        )
    )


def _entry(number: int, amount: Decimal, currency: str, payer: str, account: str, *, text="", reference=""):
    remittance = ""
    if reference:
        remittance = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{reference}</Ref></CdtrRefInf></Strd>"
        )
    if text:
        remittance += f"<Ustrd>{escape(text)}</Ustrd>"
    booked = (today() - timedelta(days=1)).isoformat()
    account_xml = f"<DbtrAcct><Id><IBAN>{account}</IBAN></Id></DbtrAcct>" if account else ""
    return (
        f'<Ntry><NtryRef>{number:04d}</NtryRef><Amt Ccy="{currency}">{amount:.2f}</Amt>'
        f"<CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt>"
        f"<ValDt><Dt>{booked}</Dt></ValDt><AcctSvcrRef>DEMO-{booked}-{number:04d}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>{escape(payer)}</Nm></Pty></Dbtr>{account_xml}"
        "</RltdPties>"
        f"<RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def _stripe_payments(hub: Hub, invoice: Invoice | None) -> list[Payment]:
    """Two card payments through Stripe on one open invoice, with Stripe's fee: what the payout pays out."""
    if invoice is None:
        return []
    payments = []
    for index, share in enumerate((Decimal("0.10"), Decimal("0.05")), start=1):
        gross = quantize(invoice.balance_due * share, invoice.currency)
        fee = quantize(gross * STRIPE_RATE + STRIPE_FIXED, invoice.currency)
        payments.append(
            record_payment(
                invoice.member,
                gross,
                invoice.currency,
                today() - timedelta(days=4 - index),
                PaymentMethod.STRIPE_CARD,
                None,
                reference=f"Demo card payment {index}",
                allocations=[(invoice, gross, None)],
                fee_amount=fee,
                net_amount=gross - fee,
                stripe_payment_intent_id=f"pi_demo_{hub.invoice_prefix.lower()}_{index}",
            )
        )
    return payments


def _statement(hub: Hub) -> bytes | None:
    invoices = _open_invoices(hub)
    if len(invoices) < 7:
        return None
    by_reference, by_number, by_amount, overpaid, charged, stripe_paid, _ = invoices[:7]
    blocked = [invoice for invoice in _in_arrears(hub) if invoice not in invoices[:7]] or invoices[7:10]
    currency = hub.base_currency
    payouts = _stripe_payments(hub, stripe_paid)
    payout = sum((payment.net_amount for payment in payouts), Decimal("0.00"))
    entries = [
        _entry(1, by_reference.balance_due, currency, f"Treasury of {by_reference.member.name}",
               "FR7630006000011234567890189", reference=reference_of(by_reference)),
        _entry(2, by_number.balance_due, currency, f"Ministry of Finance {by_number.member.name}", "",
               text=f"Contribution invoice {by_number.number.lower().replace('-', ' ')}"),
        _entry(3, by_amount.balance_due, currency, "Central Bank Transfer Desk", "",
               text="ANNUAL CONTRIBUTION"),
        _entry(4, overpaid.balance_due + Decimal("500.00"), currency, f"Government of {overpaid.member.name}",
               "", text=f"Payment {display_reference(reference_of(overpaid))} incl. next year advance"),
        _entry(5, charged.balance_due - Decimal("25.00"), currency,
               f"Ministry of Foreign Affairs {charged.member.name}", "",
               text=f"INV {charged.number} less bank charges"),
        _entry(6, payout, currency, "STRIPE", "", text="STRIPE PAYOUT DEMO"),
        _entry(7, Decimal("1234.56"), currency, "Unknown remitter", "", text="TRANSFER 99812"),
    ]  # fmt: skip
    if not payouts:
        entries.pop(5)
    _seed_blockers(blocked)
    account = f"<IBAN>{hub.iban}</IBAN>" if hub.iban else f"<Othr><Id>{hub.account_number}</Id></Othr>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NAMESPACE}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>DEMO-{hub.invoice_prefix}</MsgId><CreDtTm>{today().isoformat()}T06:00:00</CreDtTm>"
        f"</GrpHdr><Stmt><Id>DEMO-{hub.invoice_prefix}-{today().isoformat()}</Id><Acct><Id>{account}</Id>"
        f"<Ccy>{currency}</Ccy></Acct>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def _in_arrears(hub: Hub) -> list[Invoice]:
    """The latest open invoice of members that still owe for two fiscal years: the arrears page flags them."""
    members = db.session.scalars(
        sa.select(Invoice.member_id)
        .where(
            Invoice.hub_id == hub.id, Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID])
        )
        .group_by(Invoice.member_id)
        .having(sa.func.count(sa.distinct(Invoice.fiscal_year)) >= 2)
        .order_by(Invoice.member_id)
        .limit(3)
    ).all()
    return [
        db.session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.member_id == member_id,
                Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID]),
            )
            .order_by(Invoice.fiscal_year.desc(), Invoice.id)
        ).first()
        for member_id in members
    ]


def _seed_blockers(invoices: list[Invoice]) -> None:
    if not invoices or db.session.scalar(
        sa.select(InvoiceBlocker.id).where(InvoiceBlocker.invoice_id.in_([i.id for i in invoices]))
    ):
        return
    asked = today() - timedelta(days=21)
    first = invoices[0]
    save_blocker(
        first, None, purchase_order_number="4500012345", note="Treasury pays once the PO is approved."
    )
    if len(invoices) > 1:
        request_document(invoices[1], BlockerDocumentKind.VENDOR_REGISTRATION, None, requested_on=asked)
        request_document(invoices[1], BlockerDocumentKind.BANK_LETTER, None, requested_on=asked)
    if len(invoices) > 2:
        request_document(invoices[2], BlockerDocumentKind.W8, None, requested_on=asked)
        save_blocker(invoices[2], None, note="Budget committed; payment in the next quarter's treasury run.")


def seed_bank() -> int:
    """Import each hub's demo statement (idempotent); returns how many statements were added."""
    added = 0
    for hub in db.session.scalars(sa.select(Hub).order_by(Hub.id)):
        if not (hub.iban or hub.account_number):
            continue
        if db.session.scalar(sa.select(BankStatement.id).where(BankStatement.filename == _filename(hub))):
            continue
        data = _statement(hub)
        if data is None:
            continue
        import_statement_file(data, _filename(hub), None)
        db.session.flush()
        added += 1
    return added
