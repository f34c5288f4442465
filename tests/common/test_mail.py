"""The common mail log: messages are logged as pending, sent only after the commit, once, and marked sent or
failed; leftovers of a crash go with the next delivery or `flask mail send-pending`; tests never reach a real
mail server."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from app.common import mail
from app.common.mail import (
    INTERRUPTED_AGE,
    LEFTOVER_AGE,
    MailMessage,
    MailStatus,
    deliver_leftovers,
    deliver_pending,
    outcome_message,
    queue_message,
)
from app.common.mail_transport import transmit
from app.common.time import utcnow
from app.extensions import db
from tests.conftest import count
from tests.helpers import all_at_once


def a_message(subject: str = "Hello", to: str = "someone@example.org") -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Tributary <noreply@example.org>"
    message["To"] = to
    message["Cc"] = "copy@example.org"
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@example.org>"
    message.set_content("A body.\n")
    return message


def queued(subject: str = "Hello", actor=None) -> MailMessage:
    return queue_message(a_message(subject), kind="note", actor=actor, about="A note")


def as_if_queued_ago(message: MailMessage, age: timedelta) -> None:
    message.created_at = utcnow() - age
    db.session.commit()


def subjects(smtp_server) -> list[str]:
    return sorted(str(message["Subject"]) for message in smtp_server.messages())


def test_a_message_is_logged_as_pending_with_who_asked_and_what_it_is_about(make_user):
    user = make_user("operations")

    message = queued("Pending", actor=user)

    assert message.status == MailStatus.PENDING
    assert (message.kind, message.about, message.subject) == ("note", "A note", "Pending")
    assert message.recipients == "someone@example.org, copy@example.org"
    assert (message.requested_by_id, message.requested_by_label) == (user.id, user.email)
    assert message.mime.startswith(b"Subject: Pending\r\n")
    assert outcome_message(message)[0] == "warning"


def test_after_the_commit_it_is_sent_once_and_marked_sent(smtp_server):
    message = queued("Once")
    db.session.commit()

    deliver_pending([message])
    deliver_pending([message])  # a second call finds it already sent

    assert subjects(smtp_server) == ["Once"]
    (envelope,) = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == ["copy@example.org", "someone@example.org"]
    assert envelope.content.replace(b"\r\n", b"\n") == message.mime.replace(b"\r\n", b"\n")
    assert (message.status, message.transport, message.error) == (MailStatus.SENT, "smtp", "")
    assert message.sent_at is not None
    assert outcome_message(message) == ("success", "Sent “Once” to someone@example.org, copy@example.org.")


def test_a_rolled_back_transaction_leaves_nothing_to_send(smtp_server):
    savepoint = db.session.begin_nested()
    message = queued("Never")
    savepoint.rollback()  # the commit that would have kept it failed

    deliver_pending([message])

    assert smtp_server.envelopes == []
    assert count(MailMessage) == 0


def test_a_refused_message_is_marked_failed_with_the_reason(unreachable_smtp_server):
    message = queued("Refused")
    db.session.commit()

    deliver_pending([message])

    assert message.status == MailStatus.FAILED and "did not take the message" in message.error
    category, text = outcome_message(message)
    assert category == "error" and text.startswith("The message could not be sent")


def test_without_a_mail_server_it_is_written_to_the_outbox():
    message = queued("Outbox")
    db.session.commit()

    deliver_pending([message])

    assert (message.status, message.transport) == (MailStatus.SENT, "outbox")
    with open(message.outbox_path, "rb") as saved:
        assert saved.read() == message.mime
    assert "saved to the outbox" in outcome_message(message)[1]


def test_delivery_refuses_to_run_before_the_commit():
    queued("Too early")

    with pytest.raises(RuntimeError, match="after the commit"):
        deliver_pending([])


def test_the_next_delivery_takes_a_leftover_along_exactly_once(smtp_server):
    leftover = queued("Left over by a crash")
    db.session.commit()
    as_if_queued_ago(leftover, LEFTOVER_AGE + timedelta(seconds=1))

    fresh = queued("Fresh")
    db.session.commit()
    deliver_pending([fresh])
    deliver_pending([])

    assert subjects(smtp_server) == ["Fresh", "Left over by a crash"]
    assert leftover.status == MailStatus.SENT


def test_a_young_pending_message_is_left_to_the_request_that_queued_it(smtp_server):
    queued("In flight")
    db.session.commit()

    report = deliver_leftovers()

    assert report.sent == [] and smtp_server.envelopes == []


def test_send_pending_sends_leftovers_and_says_what_went(app, smtp_server):
    leftover = queued("Left over")
    db.session.commit()
    as_if_queued_ago(leftover, LEFTOVER_AGE * 2)

    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])
    again = app.test_cli_runner().invoke(args=["mail", "send-pending"])

    assert result.exit_code == 0, result.output
    assert f"Sent: #{leftover.id} “Left over”" in result.output
    assert "1 sent, 0 failed, 0 interrupted" in result.output
    assert "0 sent, 0 failed, 0 interrupted" in again.output
    assert subjects(smtp_server) == ["Left over"]


def test_a_send_interrupted_halfway_is_marked_failed_and_never_sent_again(app, smtp_server):
    message = queued("Interrupted")
    db.session.commit()
    # The process claimed it, then stopped while talking to the mail server: nobody knows if it went.
    message.created_at = message.attempted_at = utcnow() - INTERRUPTED_AGE - timedelta(minutes=1)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["mail", "send-pending"])

    assert f"Interrupted: #{message.id}" in result.output
    assert message.status == MailStatus.FAILED and "not known whether the message went out" in message.error
    assert smtp_server.envelopes == []


def test_listeners_hear_each_outcome_in_the_marking_transaction(monkeypatch, unreachable_smtp_server):
    heard = []
    monkeypatch.setattr(mail, "_listeners", [lambda message: heard.append((message.subject, message.status))])
    message = queued("Heard")
    db.session.commit()

    deliver_pending([message])

    assert heard == [("Heard", MailStatus.FAILED)]


def test_a_test_that_reaches_for_a_real_mail_server_fails(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_PORT", 587)

    with pytest.raises(pytest.fail.Exception, match="real SMTP connection to smtp.example.org:587"):
        transmit(queued("Guarded").mime)
    with pytest.raises(pytest.fail.Exception, match="real SMTP connection"):
        smtplib.SMTP("127.0.0.1:2525")  # loopback too, unless a fixture started a server there


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_leftovers_delivered_by_four_processes_at_once_go_once_each(app, smtp_server):
    leftovers = [queued(f"Leftover {number}") for number in range(6)]
    db.session.commit()
    for message in leftovers:
        message.created_at = utcnow() - LEFTOVER_AGE * 2
    db.session.commit()
    db.session.remove()
    outcomes = all_at_once(app, *[deliver_leftovers] * 4)

    assert outcomes == ["done"] * 4
    assert subjects(smtp_server) == [f"Leftover {number}" for number in range(6)]
    statuses = db.session.scalars(sa.select(MailMessage.status))
    assert set(statuses) == {MailStatus.SENT}


def test_an_outbox_file_is_named_after_the_subject_in_plain_letters():
    message = queued("Rappel : la facture BE-2027-0001 est échue")
    db.session.commit()

    deliver_pending([message])

    assert message.outbox_filename.endswith("-Rappel-la-facture-BE-2027-0001-est-echue.eml")
