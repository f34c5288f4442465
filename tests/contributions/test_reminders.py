"""Reminders: friendly, firm, final; never two within the reminder spacing; nothing after the final one; the
dry run; and a reminder that failed to send does not count."""

from __future__ import annotations

import email
import time
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.common.languages import Language
from app.common.mail import MailMessage, MailStatus, deliver_pending
from app.common.time import today
from app.contributions.models import ContributionMessage, InvoiceEventKind
from app.contributions.services.reminders import (
    ReminderNotAllowed,
    due_reminders,
    queue_reminder,
    reminder_state,
)
from app.extensions import db
from tests.conftest import count
from tests.helpers import all_at_once


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
    for message in db.session.scalars(
        sa.select(MailMessage).join(ContributionMessage).where(ContributionMessage.invoice_id == invoice.id)
    ):
        message.created_at -= timedelta(days=days)
    db.session.flush()


def send_reminder(invoice, actor) -> MailMessage:
    """What the button and the command do: queue under the lock, commit, deliver."""
    message = queue_reminder(invoice, actor)
    db.session.commit()
    deliver_pending([message])
    return message


def level_of(message: MailMessage) -> int:
    return db.session.get(ContributionMessage, message.id).reminder_level


def outbox_message(sent: MailMessage):
    return email.message_from_bytes(Path(sent.outbox_path).read_bytes(), policy=policy.default)


def test_levels_go_friendly_firm_final_then_stop(overdue, actor):
    texts = []
    for expected in (1, 2, 3):
        state = reminder_state(overdue)
        assert (state.allowed, state.level) == (True, expected)
        sent = send_reminder(overdue, actor)
        assert level_of(sent) == expected
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


def test_never_two_reminders_within_the_spacing(overdue, actor):
    send_reminder(overdue, actor)

    as_if_days_passed(overdue, 13)
    state = reminder_state(overdue)
    assert not state.allowed
    assert "reminders go at least 14 days apart, so the next can go from" in state.reason
    assert due_reminders() == []
    with pytest.raises(ReminderNotAllowed):
        send_reminder(overdue, actor)

    as_if_days_passed(overdue, 1)
    assert reminder_state(overdue).allowed
    assert [item.invoice for item in due_reminders()] == [overdue]


def test_a_reminder_counts_while_it_waits_to_be_sent(overdue, actor):
    queue_reminder(overdue, actor)  # logged, not yet delivered

    state = reminder_state(overdue)
    assert not state.allowed and "Reminder 1 went on" in state.reason
    assert due_reminders() == []


def test_a_reminder_that_failed_to_send_can_be_sent_again(overdue, actor, unreachable_smtp_server):
    failed = send_reminder(overdue, actor)
    assert failed.status == MailStatus.FAILED
    assert overdue.events == []  # the history only says what went out

    state = reminder_state(overdue)
    assert (state.allowed, state.level) == (True, 1)
    assert [item.invoice for item in due_reminders()] == [overdue]


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
    assert count(MailMessage) == 1


def test_the_dry_run_lists_without_sending_or_logging(app, overdue, make_issued_invoice):
    make_issued_invoice(issued_on=today(), due_in_days=30)  # not due: not listed
    runner = app.test_cli_runner()

    result = runner.invoke(args=["contributions", "send-reminders", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert f"Would send: {overdue.number}" in result.output
    assert "level 1 (friendly reminder)" in result.output
    assert "1 reminder(s) would be sent" in result.output
    assert count(MailMessage) == 0


def test_the_command_sends_and_logs_then_respects_the_spacing(app, overdue):
    runner = app.test_cli_runner()

    result = runner.invoke(args=["contributions", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert f"Sent: {overdue.number}" in result.output
    sent = db.session.scalar(sa.select(MailMessage))
    assert level_of(sent) == 1 and sent.status == MailStatus.SENT
    assert (sent.requested_by_id, sent.requested_by_label) == (None, "cli")

    again = runner.invoke(args=["contributions", "send-reminders"])
    assert "No reminder is due today." in again.output
    assert count(MailMessage) == 1


# --- Real concurrency (PostgreSQL) -------------------------------------------------------------------------


def slow_down_building(monkeypatch) -> None:
    """Hold every reminder for a moment between its decision and its commit, so that a race, if the lock let
    one happen, would happen every time."""
    from app.contributions.services import reminders

    build = reminders.build_message

    def slow_build(*args, **kwargs):
        time.sleep(0.3)
        return build(*args, **kwargs)

    monkeypatch.setattr(reminders, "build_message", slow_build)


def logged_reminders() -> list[int]:
    return sorted(
        db.session.scalars(
            sa.select(ContributionMessage.reminder_level)
            .join(MailMessage)
            .where(MailMessage.kind == "reminder")
        )
    )


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_a_double_click_or_two_tabs_send_one_reminder(app, login_as, overdue, smtp_server, monkeypatch):
    slow_down_building(monkeypatch)
    tabs = [login_as("operations") for _ in range(4)]
    remind_url, number = f"/contributions/invoices/{overdue.id}/remind", overdue.number
    db.session.commit()
    db.session.remove()
    pages = []

    outcomes = all_at_once(
        app, *[lambda tab=tab: pages.append(tab.post(remind_url, follow_redirects=True).text) for tab in tabs]
    )

    assert outcomes == ["done"] * 4
    assert len(smtp_server.envelopes) == 1
    assert logged_reminders() == [1]
    assert sum("Sent “Reminder: invoice" in page for page in pages) == 1
    assert sum(f"No reminder for {number}: Reminder 1 went on" in page for page in pages) == 3


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_the_nightly_command_racing_a_click_sends_one_reminder(
    app, login_as, overdue, smtp_server, monkeypatch
):
    slow_down_building(monkeypatch)
    tab = login_as("operations")
    remind_url = f"/contributions/invoices/{overdue.id}/remind"
    db.session.commit()
    db.session.remove()
    outputs = []

    outcomes = all_at_once(
        app,
        lambda: tab.post(remind_url),
        lambda: outputs.append(app.test_cli_runner().invoke(args=["contributions", "send-reminders"]).output),
    )

    assert outcomes == ["done", "done"]
    assert len(smtp_server.envelopes) == 1
    assert logged_reminders() == [1]
    (output,) = outputs
    assert output.startswith("Sent:") or "Not sent:" in output and "Reminder 1 went on" in output
