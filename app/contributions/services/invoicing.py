"""Invoices: drafts, issuing (number and frozen content; the PDF rendered once, stored after the issuing
transaction), credit notes and pro-formas.

Every function takes the acting user explicitly, flushes and never commits: the caller (a view, the CLI, the
annual run) owns the transaction, so that a number allocated in a transaction that fails is rolled back with
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...common import search
from ...common.audit import current_actor
from ...common.decimals import AMOUNT, DecimalRefused, parse_decimal
from ...common.errors import DomainError, ValidationFailed
from ...common.languages import Language
from ...common.locks import lock_and_refresh
from ...common.money import format_money, is_currency
from ...common.pdf import sha256_hex
from ...common.time import today, utcnow
from ...extensions import db
from ..models import (
    ZERO,
    CreditNote,
    Invoice,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Member,
)
from ..totals import OPEN_IN_LIST_ORDER, OPEN_INVOICE
from .assessments import Assessment, BillingAmount, assess_member, billing_amount
from .documents import (
    LOOK_UP,
    bill_to_for,
    credit_note_html,
    invoice_html,
    render_credit_note_pdf,
    render_invoice_pdf,
    render_pro_forma_pdf,
)
from .numbering import next_number
from .payment_references import derive_reference

#: Longest line description the table holds.
DESCRIPTION_MAX = 500


# --- Errors ------------------------------------------------------------------------------------------------


class InvoiceAlreadyIssued(DomainError):
    """Only a draft can be edited, deleted, issued or shown as a pro-forma."""


class InvoiceNotIssued(DomainError):
    """A credit note needs an issued invoice."""


class EmptyInvoice(ValidationFailed):
    """An invoice without lines, or with a zero total, cannot be saved or issued."""


class InvalidInvoiceLine(ValidationFailed):
    """A line without a description, or with an amount that is not a valid amount of money."""


class InvalidInvoiceDetails(ValidationFailed):
    """A currency, language or fiscal year that is not acceptable."""


class DuplicateAnnualInvoice(DomainError):
    """A member already has an annual contribution invoice (draft or issued) for that fiscal year."""


class CreditExceedsBalance(ValidationFailed):
    """A credit note cannot be more than what the invoice still asks for."""


class InvalidCreditNote(ValidationFailed):
    """A credit note needs a positive amount and a reason."""


class NothingToBill(DomainError):
    """A planned contribution that cannot be computed, or is waived, has no pro-forma."""


# --- Lines and validation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    description: str
    amount: Decimal


def _validate_lines(lines, currency: str) -> list[LineInput]:
    """Check descriptions and amounts; raise with messages keyed like the form's line fields."""
    errors: dict[str, list[str]] = {}
    clean: list[LineInput] = []
    for index, line in enumerate(lines or []):
        description, amount = line[0], line[1]
        description = (description or "").strip()
        if not description and amount in (None, ""):
            continue  # an empty row of the form
        if not description:
            errors.setdefault(f"lines-{index}-description", []).append("Describe what this line bills.")
        elif len(description) > DESCRIPTION_MAX:
            errors.setdefault(f"lines-{index}-description", []).append(
                f"Keep the description under {DESCRIPTION_MAX} characters."
            )
        try:
            amount = parse_decimal(amount, AMOUNT, currency)
        except DecimalRefused as refused:
            errors.setdefault(f"lines-{index}-amount", []).append(str(refused))
            continue
        clean.append(LineInput(description, amount))
    if errors:
        raise InvalidInvoiceLine("Some lines need correcting.", errors)
    if not clean:
        raise EmptyInvoice(
            "Add at least one line with a description and an amount.", {"lines": ["Add a line."]}
        )
    if sum((line.amount for line in clean), ZERO) <= 0:
        raise EmptyInvoice("The invoice total must be more than zero.", {"lines": ["The total is zero."]})
    return clean


def _validate_details(currency: str, language, fiscal_year) -> tuple[str, Language, int]:
    errors: dict[str, list[str]] = {}
    if not is_currency(currency):
        errors["currency"] = ["Choose a currency (an ISO code such as EUR or USD)."]
    try:
        language = Language(language)
    except ValueError:
        errors["language"] = ["Choose English, French or Spanish."]
    if not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
        errors["fiscal_year"] = ["Enter a fiscal year such as 2027."]
    if errors:
        raise InvalidInvoiceDetails("Some details need correcting.", errors)
    return currency, language, fiscal_year


def _set_lines(invoice: Invoice, lines: list[LineInput]) -> None:
    for old_line in list(invoice.lines):
        if sa.inspect(old_line).persistent:
            db.session.delete(old_line)  # deleted outright, not left behind as an orphan without an invoice
    invoice.lines.clear()
    for position, line in enumerate(lines, start=1):
        invoice.lines.append(
            InvoiceLine(
                position=position,
                description=line.description,
                quantity=Decimal("1"),
                unit_amount=line.amount,
                amount=line.amount,
                tax_amount=ZERO,
            )
        )
    invoice.subtotal = sum((line.amount for line in lines), ZERO)
    invoice.tax_total = ZERO
    invoice.total = invoice.subtotal + invoice.tax_total


def _refuse_duplicate_annual(member: Member, fiscal_year: int, kind: InvoiceKind, exclude_id=None) -> None:
    if kind != InvoiceKind.ANNUAL_CONTRIBUTION:
        return
    query = sa.select(Invoice.id, Invoice.number).where(
        Invoice.member_id == member.id,
        Invoice.fiscal_year == fiscal_year,
        Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
        Invoice.status != InvoiceStatus.CREDITED,
    )
    if exclude_id is not None:
        query = query.where(Invoice.id != exclude_id)
    existing = db.session.execute(query).first()
    if existing is not None:
        label = existing.number or f"draft #{existing.id}"
        raise DuplicateAnnualInvoice(
            f"{member.name} already has an annual contribution invoice for FY{fiscal_year} ({label})."
        )


def _require_draft(invoice: Invoice) -> None:
    if not invoice.is_draft:
        raise InvoiceAlreadyIssued(
            f"Invoice {invoice.number} is issued and cannot change; use a credit note."
        )


def _lock(invoice: Invoice) -> None:
    """Take the invoice's row lock (PostgreSQL) and reload it, so that two people acting at once queue."""
    lock_and_refresh(invoice)


#: `db.session.info` key: (the transaction, ids of the drafts created in it).
_DRAFTS_CREATED_IN = "tributary_drafts_created_in"


def _note_created_here(invoice: Invoice) -> None:
    transaction = db.session().get_transaction()
    created_in, ids = db.session.info.get(_DRAFTS_CREATED_IN, (None, set()))
    if created_in is not transaction:
        ids = set()
        db.session.info[_DRAFTS_CREATED_IN] = (transaction, ids)
    ids.add(invoice.id)


def _created_here(invoice: Invoice) -> bool:
    """Whether this draft was created in the session's current transaction: no one else can see it yet, so
    there is nothing to lock and nothing newer to reload (the annual run creates and issues together)."""
    created_in, ids = db.session.info.get(_DRAFTS_CREATED_IN, (None, ()))
    return created_in is not None and created_in is db.session().get_transaction() and invoice.id in ids


# --- Events ------------------------------------------------------------------------------------------------


def record_invoice_event(
    invoice: Invoice, kind: InvoiceEventKind, actor, detail: str = "", reminder_level=None
) -> InvoiceEvent:
    """Add a line to the invoice's history: what happened, who did it (a user or the acting label), when."""
    if actor is not None:
        actor_id, label = actor.id, (actor.full_name or actor.email)
    else:
        actor_id, label = current_actor()
    event = InvoiceEvent(
        kind=InvoiceEventKind(kind),
        actor_id=actor_id,
        actor_label=(label or "system")[:254],
        detail=detail,
        reminder_level=reminder_level,
        at=utcnow(),
    )
    # Set from the event's side: appending to `invoice.events` would load the whole history first.
    event.invoice = invoice
    db.session.add(event)
    db.session.flush()
    return event


# --- Drafts ------------------------------------------------------------------------------------------------


def create_draft_invoice(
    member: Member,
    fiscal_year: int,
    lines: list[tuple[str, Decimal]],
    actor,
    *,
    kind: InvoiceKind = InvoiceKind.OTHER,
    currency: str | None = None,
    hub=None,
    language: Language | str | None = None,
    notes: str = "",
    conversion: BillingAmount | None = None,
    annual_run_id: int | None = None,
) -> Invoice:
    """Create a draft invoice for a member: currency defaults to the hub's base currency, language to the
    member's. `conversion` (an annual contribution's billing amount) is kept with the invoice: what the
    policy assessed, in its currency, and the rate it was converted at; `annual_run_id`: the issuing run."""
    hub = hub or member.hub
    currency, language, fiscal_year = _validate_details(
        (currency or hub.base_currency or "").upper(), language or member.language, fiscal_year
    )
    clean = _validate_lines(lines, currency)
    kind = InvoiceKind(kind)
    _refuse_duplicate_annual(member, fiscal_year, kind)
    invoice = Invoice(
        kind=kind,
        status=InvoiceStatus.DRAFT,
        member=member,
        hub=hub,
        fiscal_year=fiscal_year,
        currency=currency,
        language=language,
        notes=(notes or "").strip(),
        created_by_id=getattr(actor, "id", None),
        bill_to={},
        annual_run_id=annual_run_id,
    )
    if conversion is not None:
        _keep_conversion(invoice, conversion)
    _set_lines(invoice, clean)
    db.session.add(invoice)
    db.session.flush()
    _note_created_here(invoice)
    record_invoice_event(invoice, InvoiceEventKind.CREATED, actor)
    return invoice


def update_draft_invoice(
    invoice: Invoice,
    actor,
    *,
    member: Member | None = None,
    fiscal_year: int | None = None,
    lines: list[tuple[str, Decimal]] | None = None,
    kind: InvoiceKind | None = None,
    currency: str | None = None,
    language: Language | str | None = None,
    notes: str | None = None,
) -> Invoice:
    """Change a draft; arguments left as None keep their value. A new member brings its own issuing hub."""
    _require_draft(invoice)
    member = member or invoice.member
    hub = member.hub if member.id != invoice.member_id else invoice.hub
    currency, language, fiscal_year = _validate_details(
        (currency or invoice.currency).upper(),
        language or invoice.language,
        fiscal_year if fiscal_year is not None else invoice.fiscal_year,
    )
    clean = _validate_lines(lines, currency) if lines is not None else None
    if clean is None and currency != invoice.currency:
        clean = _validate_lines([(line.description, line.amount) for line in invoice.lines], currency)
    kind = InvoiceKind(kind or invoice.kind)
    _refuse_duplicate_annual(member, fiscal_year, kind, exclude_id=invoice.id)
    if invoice.assessed_amount is not None and (
        clean is not None or member.id != invoice.member_id or fiscal_year != invoice.fiscal_year
    ):
        # The lines no longer come from that assessment: the conversion it kept no longer describes them.
        _keep_conversion(invoice, None)
    invoice.member = member
    invoice.hub = hub
    invoice.fiscal_year = fiscal_year
    invoice.kind = kind
    invoice.currency = currency
    invoice.language = language
    if notes is not None:
        invoice.notes = notes.strip()
    if clean is not None:
        _set_lines(invoice, clean)
    db.session.flush()
    return invoice


def _keep_conversion(invoice: Invoice, conversion: BillingAmount | None) -> None:
    if conversion is not None and conversion.currency != invoice.currency:
        raise InvalidInvoiceDetails(
            f"The amount was converted into {conversion.currency}, not {invoice.currency}.",
            {"currency": [f"Annual contributions of this hub are invoiced in {conversion.currency}."]},
        )
    invoice.assessed_amount = conversion.assessed_amount if conversion is not None else None
    invoice.assessed_currency = conversion.assessed_currency if conversion is not None else None
    invoice.exchange_rate = conversion.exchange_rate if conversion is not None else None


def delete_draft_invoice(invoice: Invoice, actor) -> None:
    """Delete a draft (an issued invoice is only ever corrected by a credit note)."""
    _require_draft(invoice)
    db.session.delete(invoice)
    db.session.flush()


# --- Issuing -----------------------------------------------------------------------------------------------


def issue_invoice(invoice: Invoice, actor, issued_on: date | None = None) -> Invoice:
    """Assign the number, freeze bill_to, set issued_on/due_on (hub payment terms), record who issued it and
    an InvoiceEvent; flush, never commit.

    The PDF is not rendered here: the caller commits first, which releases the hub's numbering row, and then
    stores it with `store_invoice_pdf` (or renders many at once in worker processes, as the annual run does).
    Until its PDF is stored, an issued invoice is neither sent nor served (`sending.stored_invoice_pdf`).
    """
    if invoice.id is not None and not _created_here(invoice):
        _lock(invoice)
    _require_draft(invoice)
    if not invoice.lines or invoice.total <= 0:
        raise EmptyInvoice(
            "An invoice needs at least one line and a total above zero before it can be issued.",
            {"lines": ["Add a line with an amount."]},
        )
    issued_on = issued_on or today()
    invoice.number = next_number(invoice.hub, "INV", invoice.fiscal_year)
    invoice.payment_reference = derive_reference(invoice)
    invoice.bill_to = bill_to_for(invoice.member)
    invoice.issued_on = issued_on
    invoice.due_on = issued_on + timedelta(days=invoice.hub.payment_terms_days)
    invoice.issued_at = utcnow()
    invoice.issued_by_id = getattr(actor, "id", None)
    invoice.status = InvoiceStatus.ISSUED
    db.session.flush()
    record_invoice_event(invoice, InvoiceEventKind.ISSUED, actor, detail=invoice.number)
    return invoice


# --- The issued invoice's PDF ------------------------------------------------------------------------------


def pdf_missing() -> sa.ColumnElement[bool]:
    """SQL for 'an issued invoice whose PDF is not stored yet' (issued in a transaction that committed before
    its PDF was rendered)."""
    return sa.and_(Invoice.status != InvoiceStatus.DRAFT, Invoice.pdf_sha256.is_(None))


def invoice_pdf_html(invoice: Invoice, purchase_order_number: str | None | object = LOOK_UP) -> str:
    """The HTML of an issued invoice's PDF, to render here or in a worker process (`purchase_order_number`:
    read already for many invoices at once, else looked up)."""
    with db.session.no_autoflush:
        return invoice_html(invoice, purchase_order_number)


def store_invoice_pdf(invoice: Invoice, pdf: bytes | None = None) -> bool:
    """Store an issued invoice's PDF once: rendered here unless `pdf` is given (rendered elsewhere from
    `invoice_pdf_html`). Rendering happens before any lock; the PDF is then written by one UPDATE that
    applies only while none is stored (it takes the row lock, and a second writer waiting on it finds the
    PDF stored), so a PDF stored by a concurrent step is kept and this one dropped. Returns whether this
    call stored it."""
    if invoice.is_draft:
        raise InvoiceNotIssued("A draft has no PDF to store; issue it first.")
    if invoice.pdf_sha256 is not None:
        return False
    if pdf is None:
        with db.session.no_autoflush:
            pdf = render_invoice_pdf(invoice)
    return store_rendered_pdf(invoice.id, pdf)


def store_rendered_pdf(invoice_id: int, pdf: bytes) -> bool:
    """Store a PDF rendered elsewhere for the issued invoice with this id, unless one is stored already (one
    UPDATE, as in `store_invoice_pdf`, without reading the invoice first). Returns whether it stored it."""
    stored = db.session.execute(
        sa.update(Invoice)
        .where(Invoice.id == invoice_id, pdf_missing())
        .values(pdf_bytes=pdf, pdf_sha256=sha256_hex(pdf))
        .execution_options(synchronize_session=False)
    )
    loaded = db.session.identity_map.get(sa.inspect(Invoice).identity_key_from_primary_key([invoice_id]))
    if loaded is not None:
        db.session.expire(loaded, ["pdf_bytes", "pdf_sha256"])
    return stored.rowcount == 1


# --- Credit notes ------------------------------------------------------------------------------------------


def _parse_credit_amount(amount, currency: str) -> Decimal:
    try:
        return parse_decimal(amount, AMOUNT, currency)
    except DecimalRefused as refused:
        raise InvalidCreditNote(str(refused), {"amount": [str(refused)]}) from None


def issue_credit_note(
    invoice: Invoice, amount: Decimal, reason: str, actor, issued_on: date | None = None
) -> CreditNote:
    """Reduce or cancel an issued invoice: a numbered credit note (PREFIX-CN-FY-NNNN, in the invoice's fiscal
    year), never more than the balance due, keeping the balance it leaves for its PDF; flush, never commit.

    The PDF is not rendered here, as for an invoice: the caller commits first, which releases the hub's
    numbering row, then stores it with `store_credit_note_pdf`. Until then the note is not served.
    """
    if invoice.is_draft:
        raise InvoiceNotIssued("A draft is changed or deleted, not credited.")
    _lock(invoice)
    amount = _parse_credit_amount(amount, invoice.currency)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidCreditNote("Give a reason.", {"reason": ["Say why the invoice is credited."]})
    balance = invoice.balance_due
    if amount > balance:
        raise CreditExceedsBalance(
            f"The credit note cannot exceed the balance due ({format_money(balance, invoice.currency)}).",
            {"amount": [f"At most {format_money(balance, invoice.currency)}, the balance due."]},
        )
    credit_note = CreditNote(
        number=next_number(invoice.hub, "CN", invoice.fiscal_year),
        invoice_id=invoice.id,
        hub_id=invoice.hub_id,
        currency=invoice.currency,
        amount=amount,
        balance_after=balance - amount,
        reason=reason,
        language=invoice.language,
        issued_on=issued_on or today(),
        issued_at=utcnow(),
        issued_by_id=getattr(actor, "id", None),
    )
    db.session.add(credit_note)
    credit_note.invoice = invoice
    db.session.flush()
    invoice.refresh_balance()
    record_invoice_event(
        invoice, InvoiceEventKind.CREDITED, actor, detail=f"Credit note {credit_note.number}: {reason}"
    )
    return credit_note


def credit_note_pdf_html(credit_note: CreditNote) -> str:
    """The HTML of an issued credit note's PDF: its figures as issued (the balance it left is kept)."""
    with db.session.no_autoflush:
        return credit_note_html(credit_note, credit_note.invoice)


def store_credit_note_pdf(credit_note: CreditNote, pdf: bytes | None = None) -> bool:
    """Store a credit note's PDF once, as `store_invoice_pdf` does an invoice's: rendered here unless `pdf` is
    given, then written by one UPDATE that applies only while none is stored. Returns whether it stored it."""
    if credit_note.pdf_sha256 is not None:
        return False
    if pdf is None:
        with db.session.no_autoflush:
            pdf = render_credit_note_pdf(credit_note, credit_note.invoice)
    stored = db.session.execute(
        sa.update(CreditNote)
        .where(CreditNote.id == credit_note.id, CreditNote.pdf_sha256.is_(None))
        .values(pdf_bytes=pdf, pdf_sha256=sha256_hex(pdf))
        .execution_options(synchronize_session=False)
    )
    db.session.expire(credit_note, ["pdf_bytes", "pdf_sha256"])
    return stored.rowcount == 1


def credit_notes_without_pdf() -> list[int]:
    """Ids of credit notes whose PDF is not stored yet (their render failed after the issuing commit)."""
    return list(
        db.session.scalars(
            sa.select(CreditNote.id).where(CreditNote.pdf_sha256.is_(None)).order_by(CreditNote.id)
        )
    )


# --- Pro-formas --------------------------------------------------------------------------------------------


def planned_contribution(member: Member, fiscal_year: int) -> Assessment:
    """A member's expected contribution for a fiscal year, as a pro-forma would bill it (`render_pro_forma`
    converts it into the currency of the member's hub)."""
    return assess_member(member, fiscal_year)


def render_pro_forma(invoice_or_planned: Invoice | Assessment) -> bytes:
    """A PRO FORMA PDF for a draft invoice or a planned contribution: no number, not stored, nothing changed
    (it is downloaded with a GET, which never changes state)."""
    if isinstance(invoice_or_planned, Invoice):
        invoice = invoice_or_planned
        _require_draft(invoice)
        return render_pro_forma_pdf(invoice=invoice)
    assessment = invoice_or_planned
    if assessment.amount is None:
        raise NothingToBill(assessment.problem or "This contribution cannot be computed.")
    if assessment.amount <= 0:
        raise NothingToBill(
            f"{assessment.member.name}'s contribution for FY{assessment.fiscal_year} is waived."
        )
    billing = billing_amount(assessment)
    if billing.problem:
        raise NothingToBill(billing.problem)
    return render_pro_forma_pdf(assessment=assessment, billing=billing)


# --- Lists -------------------------------------------------------------------------------------------------


#: The invoice list's order: newest first, drafts (no issue date yet) before all.
INVOICE_LIST_ORDER = (Invoice.issued_on.desc().nulls_first(), Invoice.id.desc())


def matching_invoice_ids(text: str) -> sa.Select:
    """Ids of invoices whose number, or whose member's name, contains `text` (accents and case aside)."""
    by_member = sa.select(Invoice.id).where(
        Invoice.member_id.in_(search.matching_ids(Member.__table__, text))
    )
    return sa.union(search.matching_ids(Invoice.__table__, text), by_member)


def invoices_query(
    *,
    text: str | None = None,
    status: InvoiceStatus | None = None,
    hub_id: int | None = None,
    fiscal_year: int | None = None,
    overdue: bool = False,
    on: date | None = None,
    blocked: bool = False,
) -> sa.Select:
    """Invoices matching the list's filters, newest first (drafts, undated, before all), with member and hub
    loaded in the same query. The filters read the invoices table alone, so that the page's ids and the count
    come from its indexes (each filter has one ending in the list's order, see Invoice)."""
    query = (
        sa.select(Invoice)
        .options(sa.orm.joinedload(Invoice.member), sa.orm.joinedload(Invoice.hub))
        .order_by(*INVOICE_LIST_ORDER)
    )
    if text and search.is_searchable(text):
        query = query.where(Invoice.id.in_(matching_invoice_ids(text)))
    if status is not None:
        query = query.where(Invoice.status == status)
    if hub_id is not None:
        query = query.where(Invoice.hub_id == hub_id)
    if fiscal_year is not None:
        query = query.where(Invoice.fiscal_year == fiscal_year)
    if overdue:
        # The literal condition of the partial index that serves this filter in the list's order (SQLite,
        # without statistics, would rather sort every overdue invoice found by status and due date).
        query = query.where(OPEN_INVOICE, Invoice.due_on < (on or today()))
        if not (text and search.is_searchable(text)):
            query = query.with_hint(Invoice.__table__, f"INDEXED BY {OPEN_IN_LIST_ORDER.name}", "sqlite")
    if blocked:
        from .payment_blockers import blocked_invoice_ids

        query = query.where(Invoice.id.in_(blocked_invoice_ids()))
    return query
