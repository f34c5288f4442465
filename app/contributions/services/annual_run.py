"""The annual contribution run: issue every active member's invoice for a fiscal year (the preview is
`annual_run_preview`).

The run is an `AnnualRun` row, never state in a process. Issuing goes in small steps (`run_step`), and
a few members' invoices at a time (`ISSUE_BATCH`) are created, issued and committed in one short transaction,
read together and each in a savepoint of its own (a refusal rolls back that member alone), with their
numbers allocated in that same transaction: a killed process loses at most the uncommitted batch and its
numbers with it, so numbers stay gap-free, and starting the run again simply carries on. The PDFs are rendered
after those short transactions (in worker processes when the caller passes `pdf_workers()`, while this
process issues the next members) and stored as they come back (`invoice_pdfs.PdfQueue`); an invoice a killed
step left without its PDF is rendered by the next step, and the run finishes only when every invoice it
issued has its PDF. What is left to do
is always read from the database (active members without an annual invoice for the year), so two steps
running at once, or a second "Issue all", never issue anything twice; the partial unique index
`uq_invoices_annual_member_year` is the backstop.

`run_step` is the one function here that commits: a step is a sequence of units of work by design. Everything
else flushes at most, like every other service.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, gettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from ...common.errors import DomainError
from ...common.pdf import IN_PROCESS
from ...common.time import utcnow
from ...extensions import db
from ...hubs.models import Hub
from ..models import (
    AdjustmentKind,
    AnnualRun,
    AnnualRunStatus,
    ContributionAdjustment,
    ContributionPolicy,
    IncomeGroup,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Member,
    MemberIncomeGroup,
    MemberKind,
)
from .annual_run_preview import (
    Preview,
    PreviewRow,
    RowStatus,
    annual_invoices,
    build_preview,
    classify,
    eligible,
)
from .assessments import assess_members, policy_for
from .invoice_pdfs import PdfNotMade, PdfQueue, missing_pdf_ids
from .invoicing import DuplicateAnnualInvoice, create_draft_invoice, issue_invoice

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
#: Members issued per browser step: small enough that a step answers within a few seconds.
DEFAULT_BATCH_SIZE = 10
#: Members issued in one transaction (one commit; the hub's numbering row is locked for this many invoices'
#: SQL, a few tens of milliseconds, never for a PDF).
ISSUE_BATCH = 10
#: Rendered PDFs stored together while a step issues (fewer commits; the rest are stored at its end).
STORE_WHEN_READY = 5


# --- Errors ------------------------------------------------------------------------------------------------


class NoPolicyForYear(DomainError):
    """There is no contribution policy for the fiscal year, so no amount can be computed."""


class NothingToIssue(DomainError):
    """Every active member is already invoiced, waived or has a problem: a run would issue nothing."""


# --- Runs ------------------------------------------------------------------------------------------------


def _has_annual_invoice(member_id: int, fiscal_year: int) -> bool:
    return db.session.scalar(
        sa.select(
            sa.select(Invoice.id)
            .where(
                Invoice.member_id == member_id,
                Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
                Invoice.fiscal_year == fiscal_year,
                Invoice.status != InvoiceStatus.CREDITED,
            )
            .exists()
        )
    )


def line_description(fiscal_year: int, row: PreviewRow, language: str) -> str:
    """The invoice line in the member's language: 'Annual contribution FY2027 (low income group)'."""
    year = str(fiscal_year)
    adjustment = row.adjustment
    with force_locale(language):
        if adjustment is not None and adjustment.kind == AdjustmentKind.AMOUNT:
            return gettext(
                "Annual contribution FY%(year)s (amount agreed: %(reference)s)",
                year=year,
                reference=adjustment.approval_reference,
            )
        if row.member.kind == MemberKind.LOCAL:
            return gettext("Annual contribution FY%(year)s (local government)", year=year)
        return {
            IncomeGroup.HIGH: lambda: gettext(
                "Annual contribution FY%(year)s (high income group)", year=year
            ),
            IncomeGroup.UPPER_MIDDLE: lambda: gettext(
                "Annual contribution FY%(year)s (upper-middle income group)", year=year
            ),
            IncomeGroup.LOWER_MIDDLE: lambda: gettext(
                "Annual contribution FY%(year)s (lower-middle income group)", year=year
            ),
            IncomeGroup.LOW: lambda: gettext("Annual contribution FY%(year)s (low income group)", year=year),
        }[row.income_group]()


def open_run(fiscal_year: int) -> AnnualRun | None:
    """The run of a fiscal year that has not finished (running, or stopped by an error), if any."""
    return db.session.scalar(
        sa.select(AnnualRun)
        .where(
            AnnualRun.fiscal_year == fiscal_year,
            AnnualRun.status.in_([AnnualRunStatus.RUNNING, AnnualRunStatus.FAILED]),
        )
        .order_by(AnnualRun.id.desc())
        .limit(1)
    )


def _problem_entry(member: Member, problems) -> dict:
    return {"member_id": member.id, "member": member.name, "problem": " ".join(problems)}


def start_run(fiscal_year: int, actor, preview: Preview | None = None) -> tuple[AnnualRun, bool]:
    """Start the fiscal year's run, or resume the one already open; returns (run, resumed). Flushes."""
    existing = open_run(fiscal_year)
    if existing is not None:
        return _resume(existing), True
    preview = preview or build_preview(fiscal_year)
    if preview.policy is None:
        raise NoPolicyForYear(f"There is no contribution policy for FY{fiscal_year}: set one first.")
    if not preview.to_invoice:
        raise NothingToIssue(
            f"Nothing to issue for FY{fiscal_year}: every active member is already invoiced, waived or has a "
            "problem to fix first."
        )
    now = utcnow()
    run = AnnualRun(
        fiscal_year=fiscal_year,
        status=AnnualRunStatus.RUNNING,
        planned_count=len(preview.to_invoice),
        issued_count=0,
        problems=[_problem_entry(row.member, row.problems) for row in preview.problems],
        started_at=now,
        heartbeat_at=now,
        started_by_id=getattr(actor, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        # Someone pressed "Issue all" for the same year a moment ago: join their run.
        return _resume(open_run(fiscal_year)), True
    return run, False


def _resume(run: AnnualRun) -> AnnualRun:
    if run.status == AnnualRunStatus.FAILED:
        run.status = AnnualRunStatus.RUNNING
        run.error = ""
        db.session.flush()
    return run


def _amount_cannot_be_zero(policy: ContributionPolicy):
    """SQL for 'this member owes something under the policy', mirroring the waived rows of the preview."""
    adjustment = aliased(ContributionAdjustment)
    positive_adjustment = (
        sa.select(adjustment.id)
        .where(
            adjustment.member_id == Member.id,
            adjustment.fiscal_year == policy.fiscal_year,
            adjustment.kind == AdjustmentKind.AMOUNT,
            adjustment.amount > 0,
        )
        .exists()
    )
    zero_by_policy = []
    if policy.local_amount <= 0:
        zero_by_policy.append(Member.kind == MemberKind.LOCAL)
    zero_groups = [group for group in IncomeGroup if policy.amount_for(MemberKind.NATIONAL, group) <= 0]
    if zero_groups:
        zero_by_policy.append(
            sa.and_(
                Member.kind == MemberKind.NATIONAL,
                sa.select(MemberIncomeGroup.id)
                .where(
                    MemberIncomeGroup.member_id == Member.id,
                    MemberIncomeGroup.fiscal_year == policy.fiscal_year,
                    MemberIncomeGroup.income_group.in_(zero_groups),
                )
                .exists(),
            )
        )
    if not zero_by_policy:
        return sa.true()
    return sa.or_(positive_adjustment, sa.not_(sa.or_(*zero_by_policy)))


def _left_to_do(run: AnnualRun, policy: ContributionPolicy | None) -> sa.Select:
    """Members the run still has to invoice: read from the database every time, never kept in a process."""
    fiscal_year = run.fiscal_year
    if policy is None:
        return sa.select(Member.id).where(sa.false())
    set_aside = [entry["member_id"] for entry in run.problems or []]
    has_invoice = (
        sa.select(Invoice.id)
        .where(
            Invoice.member_id == Member.id,
            Invoice.kind == InvoiceKind.ANNUAL_CONTRIBUTION,
            Invoice.fiscal_year == fiscal_year,
            Invoice.status != InvoiceStatus.CREDITED,
        )
        .exists()
    )
    owes_nothing = (
        sa.select(ContributionAdjustment.id)
        .where(
            ContributionAdjustment.member_id == Member.id,
            ContributionAdjustment.fiscal_year == fiscal_year,
            sa.or_(
                ContributionAdjustment.kind == AdjustmentKind.WAIVER,
                ContributionAdjustment.amount <= 0,
            ),
        )
        .exists()
    )
    query = sa.select(Member.id).where(
        eligible(fiscal_year), ~has_invoice, ~owes_nothing, _amount_cannot_be_zero(policy)
    )
    if set_aside:
        query = query.where(Member.id.not_in(set_aside))
    return query


def remaining_count(run: AnnualRun) -> int:
    """How many members the run has still to invoice."""
    if run.status == AnnualRunStatus.FINISHED:
        return 0
    query = _left_to_do(run, policy_for(run.fiscal_year))
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


@dataclass
class StepResult:
    run_id: int
    issued: list[str] = field(default_factory=list)
    already_invoiced: int = 0
    new_problems: list[dict] = field(default_factory=list)
    remaining: int = 0
    finished: bool = False
    error: str = ""

    @property
    def processed(self) -> int:
        return len(self.issued) + self.already_invoiced + len(self.new_problems)


class _Outcome(enum.Enum):
    ISSUED = "issued"
    ALREADY_INVOICED = "already_invoiced"
    PROBLEM = "problem"
    BUSY = "busy"


class _Batch:
    """What issuing a few members needs, read for all of them at once, under their row locks."""

    def __init__(self, fiscal_year: int, member_ids: list[int]):
        # Two steps at once skip each other's members rather than queue on them (PostgreSQL; SQLite has one
        # writer at a time anyway).
        self.locked = set(
            db.session.scalars(
                sa.select(Member.id)
                .where(Member.id.in_(member_ids))
                .with_for_update(skip_locked=True, key_share=True)
            )
        )
        # Invoiced since this step read its list of members to do.
        self.invoiced = set(annual_invoices(fiscal_year, list(self.locked))) if self.locked else set()
        to_read = [member_id for member_id in member_ids if member_id in self.locked - self.invoiced]
        members = list(
            db.session.scalars(
                sa.select(Member).where(Member.id.in_(to_read)).options(selectinload(Member.contacts))
            )
        ) if to_read else []  # fmt: skip
        self.rows = {
            member.id: classify(member, assessment, None)
            for member, assessment in zip(members, assess_members(members, fiscal_year), strict=True)
        }


def _issue_for_member(run_id: int, fiscal_year: int, member_id: int, actor, batch: _Batch):
    """Create and issue one member's annual invoice in a savepoint of the batch's transaction: anything
    refused is rolled back alone, and the number is taken only if the invoice is issued."""
    if member_id not in batch.locked:
        return _Outcome.BUSY, None
    if member_id in batch.invoiced:
        return _Outcome.ALREADY_INVOICED, None
    row = batch.rows[member_id]
    member = row.member
    if row.status == RowStatus.WAIVED:
        # Waived after the run started: it is set aside with the reason, so that the run moves on.
        return _Outcome.PROBLEM, {
            "member_id": member_id,
            "member": member.name,
            "problem": row.waived_because,
        }
    if row.status != RowStatus.TO_INVOICE:
        return _Outcome.PROBLEM, _problem_entry(member, row.problems)
    language = member.language.value
    try:
        with db.session.begin_nested():
            invoice = create_draft_invoice(
                member,
                fiscal_year,
                [(line_description(fiscal_year, row, language), row.amount)],
                actor,
                kind=InvoiceKind.ANNUAL_CONTRIBUTION,
                currency=row.currency,
                hub=member.hub,
                language=language,
                conversion=row.billing,
                annual_run_id=run_id,
            )
            issue_invoice(invoice, actor)
    except DuplicateAnnualInvoice:
        return _Outcome.ALREADY_INVOICED, None
    except IntegrityError:
        if not _has_annual_invoice(member_id, fiscal_year):
            raise  # not the unique index on annual invoices: an unexpected error, which stops the run
        # Another step invoiced this member first, and the unique index refused the second invoice.
        return _Outcome.ALREADY_INVOICED, None
    except DomainError as error:
        return _Outcome.PROBLEM, {
            "member_id": member_id,
            "member": member.name,
            "problem": f"Could not be issued: {error}",
        }
    return _Outcome.ISSUED, (invoice.number, invoice.id)


class _StoppedAt(Exception):
    """An unexpected error while issuing a member: the batch is rolled back, and the run stops on it."""

    def __init__(self, member_id: int, error: Exception):
        super().__init__(f"Stopped at member #{member_id}: {error}")
        self.member_id = member_id


def _issue_members(run_id: int, fiscal_year: int, member_ids: list[int], actor) -> list[tuple]:
    """Issue a few members' invoices in one transaction, committed once: (member id, outcome, detail) each.

    Their numbers are allocated under the hub's numbering row lock, held until this commit (a few invoices'
    work, never a PDF render), and a failure rolls back the whole batch with its numbers: a killed process
    leaves no gap, and the members are simply still to do.
    """
    batch = _Batch(fiscal_year, member_ids)
    outcomes = []
    for member_id in member_ids:
        try:
            outcome, detail = _issue_for_member(run_id, fiscal_year, member_id, actor, batch)
        except Exception as error:
            db.session.rollback()
            raise _StoppedAt(member_id, error) from error
        outcomes.append((member_id, outcome, detail))
    db.session.commit()
    return outcomes


def _record_step(run_id: int, new_problems: list[dict], error: str = "") -> tuple[AnnualRun, int]:
    """Update the run's counters under its row lock (two steps at once queue here), then commit."""
    run = db.session.execute(
        sa.select(AnnualRun)
        .where(AnnualRun.id == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    known = {entry["member_id"] for entry in run.problems or []}
    fresh = [entry for entry in new_problems if entry["member_id"] not in known]
    if fresh:
        run.problems = list(run.problems or []) + fresh
    run.issued_count = db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(
            Invoice.annual_run_id == run_id, Invoice.status != InvoiceStatus.DRAFT
        )
    )
    run.heartbeat_at = utcnow()
    remaining = 0
    if error:
        run.status = AnnualRunStatus.FAILED
        run.error = error[:2000]
        remaining = remaining_count(run)
    elif run.status != AnnualRunStatus.FINISHED:
        remaining = remaining_count(run)
        if remaining == 0 and not missing_pdf_ids(run_id, limit=1):
            run.status = AnnualRunStatus.FINISHED
            run.finished_at = run.heartbeat_at
    db.session.commit()
    return run, remaining


def run_step(run_id: int, actor, batch_size: int = DEFAULT_BATCH_SIZE, renderer=IN_PROCESS) -> StepResult:
    """Issue the next `batch_size` members of a run, each committed on its own, store their PDFs (and any this
    run still lacks) as `renderer` makes them, then record the progress.

    Commits (see the module docstring). A business refusal sets that member aside as a problem; an unexpected
    error stops the run as failed, with the message, and leaves everything already committed in place.
    """
    run = db.session.get(AnnualRun, run_id)
    if run is None:
        raise DomainError("There is no such run.")
    result = StepResult(run_id=run_id)
    if run.status == AnnualRunStatus.FINISHED:
        result.finished = True
        return result
    if run.status == AnnualRunStatus.FAILED:
        result.error = run.error or "The run stopped on an error."
        result.remaining = remaining_count(run)
        return result
    fiscal_year = run.fiscal_year
    # Numbers follow the members' names within each hub, as the preview lists them.
    member_ids = list(
        db.session.scalars(
            _left_to_do(run, policy_for(fiscal_year)).order_by(Member.name, Member.id).limit(batch_size)
        )
    )
    pdfs = PdfQueue(renderer)
    # PDFs a stopped step left behind (their invoices are issued and committed) go first.
    owed = missing_pdf_ids(run_id, limit=batch_size)
    try:
        pdfs.add_many(owed)
        for start in range(0, len(member_ids), ISSUE_BATCH):
            issued_ids = []
            for _, outcome, detail in _issue_members(
                run_id, fiscal_year, member_ids[start : start + ISSUE_BATCH], actor
            ):
                if outcome == _Outcome.ISSUED:
                    number, invoice_id = detail
                    result.issued.append(number)
                    issued_ids.append(invoice_id)
                elif outcome == _Outcome.ALREADY_INVOICED:
                    result.already_invoiced += 1
                elif outcome == _Outcome.PROBLEM:
                    result.new_problems.append(detail)
            pdfs.add_many(issued_ids)
            pdfs.store_finished(at_least=STORE_WHEN_READY)
        pdfs.finish()
    except Exception as error:  # noqa: BLE001 - one member's failure must not leave the run unrecorded
        pdfs.abandon()
        db.session.rollback()
        if isinstance(error, PdfNotMade):
            log.exception("Annual run %s stopped while storing its PDFs", run_id)
            result.error = f"Stopped while storing the invoices' PDFs: {error}"
        elif isinstance(error, _StoppedAt):
            log.exception("Annual run %s stopped at member %s", run_id, error.member_id)
            result.error = str(error)
        else:
            log.exception("Annual run %s stopped", run_id)
            result.error = f"Stopped: {error}"
        run, result.remaining = _record_step(run_id, result.new_problems, result.error)
        return result
    run, result.remaining = _record_step(run_id, result.new_problems)
    result.finished = run.status == AnnualRunStatus.FINISHED
    return result


def run_to_completion(
    run_id: int,
    actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_step: Callable[[StepResult], None] | None = None,
    max_steps: int | None = None,
    renderer=IN_PROCESS,
) -> list[StepResult]:
    """Loop over steps in this process until the run finishes or fails (CLI, demo data, benchmark); PDFs
    render in `renderer` (`with pdf_workers() as renderer:` puts every core to work)."""
    results = []
    while max_steps is None or len(results) < max_steps:
        result = run_step(run_id, actor, batch_size, renderer)
        results.append(result)
        if on_step is not None:
            on_step(result)
        if result.finished or result.error:
            break
        if result.processed == 0:
            time.sleep(0.2)  # every member of the batch is being issued by another step: let it finish
    return results


def progress(run: AnnualRun, remaining: int | None = None) -> dict:
    """What the run page and its script show: issued of planned, problems, and whether it is done."""
    remaining = remaining_count(run) if remaining is None else remaining
    planned = max(run.planned_count, 0)
    done = planned if run.status == AnnualRunStatus.FINISHED else min(max(planned - remaining, 0), planned)
    return {
        "run_id": run.id,
        "fiscal_year": run.fiscal_year,
        "status": run.status.value,
        "status_label": run.status.value.capitalize(),
        "planned": planned,
        "issued": run.issued_count,
        "done": done,
        "remaining": remaining,
        "problems": len(run.problems or []),
        "finished": run.status == AnnualRunStatus.FINISHED,
        "error": run.error or "",
        "percent": 100 if planned == 0 else round(100 * done / planned),
    }


def runs_query(fiscal_year: int | None = None) -> sa.Select:
    """Past and current runs, newest first, with who started them."""
    query = (
        sa.select(AnnualRun)
        .options(selectinload(AnnualRun.started_by))
        .order_by(AnnualRun.started_at.desc(), AnnualRun.id.desc())
    )
    if fiscal_year is not None:
        query = query.where(AnnualRun.fiscal_year == fiscal_year)
    return query


#: A run's invoices in the run page's order (hub, then number), with their status: the page's ids and
#: count come from this index alone, however many invoices other runs issued.
sa.Index(
    "ix_invoices_annual_run_list_order", Invoice.annual_run_id, Invoice.hub_id, Invoice.number, Invoice.status
)


def run_invoices_query(run: AnnualRun) -> sa.Select:
    """The invoices a run issued, in number order."""
    return (
        sa.select(Invoice)
        .where(Invoice.annual_run_id == run.id, Invoice.status != InvoiceStatus.DRAFT)
        .order_by(Invoice.hub_id, Invoice.number)
    )


def run_totals(run: AnnualRun) -> list[tuple[str, str, int, Decimal]]:
    """(hub, currency, invoices, total) of what the run issued; sums never cross currencies."""
    rows = db.session.execute(
        sa.select(Hub.name, Invoice.currency, sa.func.count(Invoice.id), sa.func.sum(Invoice.total))
        .join(Hub, Hub.id == Invoice.hub_id)
        .where(Invoice.annual_run_id == run.id, Invoice.status != InvoiceStatus.DRAFT)
        .group_by(Hub.name, Invoice.currency)
        .order_by(Hub.name, Invoice.currency)
    )
    return [(name, currency, count, total) for name, currency, count, total in rows]
