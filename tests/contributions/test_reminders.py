"""Reminders: friendly, firm, final; never two within 14 days; nothing after the final one; the dry run."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.common.languages import Language
from app.common.time import today
from app.contributions.models import InvoiceEventKind, SentMessage
from app.contributions.services.reminders import ReminderNotAllowed, reminder_state, send_reminder
from app.extensions import db
from tests.conftest import count


@pytest.fixture
def actor(make_user):
    return make_user("operations")


@pytest.fixture
def overdue(make_issued_invoice):
    """An invoice 30 days past its due date."""
    return make_issued_invoice(amount="1000.00", issued_on=today() - timedelta(days=60), due_in_days=30)


def as_if_days_passed(invoice, days: int) -> None:
    """Move the invoice's reminder history back in time, as if `days` had passed since."""
    for event in invoice.events:
        event.at -= timedelta(days=days)
    db.session.flush()


def outbox_message(sent: SentMessage):
    return email.message_from_bytes(Path(sent.outbox_path).read_bytes(), policy=policy.default)


def test_levels_go_friendly_firm_final_then_stop(overdue, actor):
    texts = []
    for expected in (1, 2, 3):
        state = reminder_state(overdue)
        assert (state.allowed, state.level) == (True, expected)
        sent = send_reminder(overdue, actor)
        assert sent.reminder_level == expected
        texts.append(outbox_message(sent).get_body(("plain",)).get_content())
        as_if_days_passed(overdue, 14)

    assert "friendly reminder" in texts[0]
    assert "second reminder" in texts[1]
    assert "final reminder" in texts[2]
    state = reminder_state(overdue)
    assert not state.allowed and "final reminder was sent" in state.reason
    with pytest.raises(ReminderNotAllowed):
        send_reminder(overdue, actor)
    assert [e.reminder_level for e in overdue.events if e.kind == InvoiceEventKind.REMINDED] == [1, 2, 3]


def test_never_two_reminders_within_fourteen_days(overdue, actor):
    send_reminder(overdue, actor)

    as_if_days_passed(overdue, 13)
    state = reminder_state(overdue)
    assert not state.allowed
    assert "the next can go from" in state.reason
    with pytest.raises(ReminderNotAllowed):
        send_reminder(overdue, actor)

    as_if_days_passed(overdue, 1)
    assert reminder_state(overdue).allowed


def test_no_reminder_before_the_due_date_or_once_paid(make_issued_invoice):
    not_due = make_issued_invoice(issued_on=today(), due_in_days=30)
    due_today = make_issued_invoice(issued_on=today() - timedelta(days=30), due_in_days=30)

    assert "Not overdue" in reminder_state(not_due).reason
    assert not reminder_state(due_today).allowed


def test_the_reminder_carries_the_stored_invoice_pdf_in_the_members_language(
    make_member, make_issued_invoice, actor
):
    member = make_member(language=Language.FR)
    invoice = make_issued_invoice(
        member=member, language=Language.FR, issued_on=today() - timedelta(days=60), due_in_days=30
    )

    message = outbox_message(send_reminder(invoice, actor))

    assert "Rappel" in message["Subject"]
    assert "rappel amical" in message.get_body(("plain",)).get_content()
    ((name, content),) = [(p.get_filename(), p.get_content()) for p in message.iter_attachments()]
    assert (name, content) == (f"{invoice.number}.pdf", invoice.pdf_bytes)


def test_the_button_sends_the_next_level_and_then_explains_why_not(login_as, overdue):
    client = login_as("operations")

    first = client.post(f"/contributions/invoices/{overdue.id}/remind", follow_redirects=True)
    assert "saved to the outbox" in first.text
    again = client.post(f"/contributions/invoices/{overdue.id}/remind", follow_redirects=True)
    assert "the next can go from" in again.text
    assert count(SentMessage) == 1


def test_the_dry_run_lists_without_sending_or_logging(app, overdue, make_issued_invoice):
    make_issued_invoice(issued_on=today(), due_in_days=30)  # not due: not listed
    runner = app.test_cli_runner()

    result = runner.invoke(args=["contributions", "send-reminders", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert f"Would send: {overdue.number}" in result.output
    assert "level 1 (friendly reminder)" in result.output
    assert "1 reminder(s) would be sent" in result.output
    assert count(SentMessage) == 0


def test_the_command_sends_and_logs_then_respects_the_fourteen_days(app, overdue):
    runner = app.test_cli_runner()

    result = runner.invoke(args=["contributions", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert f"Sent: {overdue.number}" in result.output
    sent = db.session.scalar(sa.select(SentMessage))
    assert sent.reminder_level == 1 and sent.sent_by_id is None

    again = runner.invoke(args=["contributions", "send-reminders"])
    assert "No reminder is due today." in again.output
    assert count(SentMessage) == 1
