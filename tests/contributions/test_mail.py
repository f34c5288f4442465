"""Sending invoices and statements by e-mail: a real SMTP round trip on loopback, the outbox, and failures."""

from __future__ import annotations

import contextlib
import email
from datetime import date
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.common.mail import LEFTOVER_AGE, MailMessage, MailStatus
from app.contributions.models import ContributionMessage, InvoiceEventKind, MemberContact
from app.contributions.services import sending
from app.extensions import db
from tests.conftest import count


def attachments(message):
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def test_the_test_configuration_never_sends_real_mail(app):
    assert app.config["MAIL_SERVER"] == ""
    assert app.config["TRIBUTARY_OUTBOX"]


def test_an_invoice_goes_by_smtp_with_its_stored_pdf(login_as, make_issued_invoice, smtp_server):
    invoice = make_issued_invoice(amount="1000.00")
    invoice.member.contacts.append(MemberContact(name="Deputy", email="deputy@gov.example"))
    db.session.flush()
    primary = invoice.member.contacts[0].email
    client = login_as("operations")

    response = client.post(f"/contributions/invoices/{invoice.id}/send", follow_redirects=True)

    assert response.status_code == 200
    (envelope,) = smtp_server.envelopes
    assert sorted(envelope.rcpt_tos) == sorted([primary, "deputy@gov.example"])
    (message,) = smtp_server.messages()
    assert message["To"] == primary
    assert message["Cc"] == "deputy@gov.example"
    assert invoice.number in message["Subject"]
    assert "due on" in message.get_body(("plain",)).get_content()
    assert attachments(message) == {f"{invoice.number}.pdf": invoice.pdf_bytes}
    link = db.session.scalar(sa.select(ContributionMessage))
    sent = link.message
    assert (sent.status, sent.transport, sent.error) == (MailStatus.SENT, "smtp", "")
    assert (link.invoice_id, link.member_id) == (invoice.id, invoice.member_id)
    assert sent.recipients == f"{primary}, deputy@gov.example"
    assert email.message_from_bytes(sent.mime, policy=policy.default)["Message-ID"] == message["Message-ID"]
    assert [e.kind for e in invoice.events] == [InvoiceEventKind.SENT]


def test_without_a_mail_server_the_message_goes_to_the_outbox(login_as, make_issued_invoice, app):
    invoice = make_issued_invoice()
    client = login_as("operations")

    response = client.post(f"/contributions/invoices/{invoice.id}/send", follow_redirects=True)

    assert "No mail server is configured: the message was saved to the outbox at" in response.text
    sent = db.session.scalar(sa.select(MailMessage))
    assert (sent.status, sent.transport) == (MailStatus.SENT, "outbox")
    path = Path(sent.outbox_path)
    assert path.parent == Path(app.config["TRIBUTARY_OUTBOX"])
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert attachments(message) == {f"{invoice.number}.pdf": invoice.pdf_bytes}


def test_an_smtp_failure_is_logged_and_shown_never_a_500(
    login_as, make_issued_invoice, unreachable_smtp_server
):
    invoice = make_issued_invoice()
    client = login_as("operations")

    response = client.post(f"/contributions/invoices/{invoice.id}/send", follow_redirects=True)

    assert response.status_code == 200
    assert "The message could not be sent" in response.text
    sent = db.session.scalar(sa.select(MailMessage))
    assert sent.status == MailStatus.FAILED and "did not take the message" in sent.error
    assert invoice.events == []  # not counted as sent

    messages = client.get("/contributions/messages/?state=failed")
    assert "Failed" in messages.text and invoice.number in messages.text


def test_a_member_without_an_email_address_gets_a_clear_message(login_as, make_member, make_issued_invoice):
    invoice = make_issued_invoice(member=make_member(with_contact=False))
    client = login_as("operations")

    response = client.post(f"/contributions/invoices/{invoice.id}/send", follow_redirects=True)

    assert "has no contact with an e-mail address" in response.text
    assert count(MailMessage) == 0


def test_a_statement_goes_by_smtp_as_a_pdf(login_as, make_issued_invoice, smtp_server):
    invoice = make_issued_invoice(amount="1000.00", issued_on=date(2026, 6, 1))
    client = login_as("operations")

    client.post(f"/contributions/members/{invoice.member_id}/statement/send")

    (message,) = smtp_server.messages()
    assert "Statement of account" in message["Subject"]
    ((filename, pdf),) = attachments(message).items()
    assert filename.startswith("statement-") and pdf.startswith(b"%PDF")
    assert "Balance due in EUR" in message.get_body(("plain",)).get_content()
    link = db.session.scalar(sa.select(ContributionMessage))
    assert link.message.kind == "statement" and link.invoice_id is None


def test_the_board_cannot_send(login_as, make_issued_invoice):
    invoice = make_issued_invoice()
    client = login_as("board")

    assert client.post(f"/contributions/invoices/{invoice.id}/send").status_code == 403
    assert client.post(f"/contributions/members/{invoice.member_id}/statement/send").status_code == 403
    assert count(MailMessage) == 0


@pytest.mark.real_commits
def test_a_failed_commit_sends_nothing(app, login_as, make_issued_invoice, smtp_server):
    client = login_as("operations")
    send_url = f"/contributions/invoices/{make_issued_invoice().id}/send"
    db.session.commit()
    db.session.remove()
    refused = []

    def refuse_the_commit(session):
        if not refused:
            refused.append(True)
            raise sa.exc.OperationalError("COMMIT", {}, Exception("the database went away"))

    sa.event.listen(Session, "before_commit", refuse_the_commit)
    try:
        # The error page (or, where the database still answers, the error itself) is the app's concern; here
        # what matters is what left the building.
        with contextlib.suppress(sa.exc.OperationalError):
            client.post(send_url)
    finally:
        sa.event.remove(Session, "before_commit", refuse_the_commit)

    assert refused == [True]
    assert smtp_server.envelopes == []  # nothing left the building
    assert count(MailMessage) == 0  # and nothing claims it did

    db.session.remove()
    client.post(send_url)  # once the database is back
    assert len(smtp_server.envelopes) == 1 and count(MailMessage) == 1


def test_the_message_log_shows_how_each_message_went_and_keeps_a_copy(
    login_as, make_issued_invoice, unreachable_smtp_server
):
    invoice = make_issued_invoice()
    client = login_as("operations")
    client.post(f"/contributions/invoices/{invoice.id}/send")  # fails: the server is down
    waiting = sending.queue_statement(invoice.member, client.user)  # logged, not yet sent

    page = client.get("/contributions/messages/")
    failed_only = client.get("/contributions/messages/?state=failed")
    waiting_only = client.get("/contributions/messages/?state=pending")
    copy = client.get(f"/contributions/messages/{waiting.id}.eml")

    assert "Failed" in page.text and "Waiting to be sent" in page.text
    assert f"asked by {client.user.full_name}" in page.text
    assert invoice.number in failed_only.text and "Statement of account" not in failed_only.text
    assert "Statement of account" in waiting_only.text and invoice.number not in waiting_only.text
    assert copy.mimetype == "message/rfc822"
    assert email.message_from_bytes(copy.data, policy=policy.default)["Subject"] == waiting.subject
    assert client.get("/contributions/messages/999999.eml").status_code == 404


def test_the_board_reads_the_log_but_sends_nothing(login_as, make_issued_invoice):
    invoice = make_issued_invoice()
    board = login_as("board")

    assert board.get("/contributions/messages/").status_code == 200
    assert board.post(f"/contributions/invoices/{invoice.id}/remind").status_code == 403
    assert count(MailMessage) == 0


def test_messages_left_waiting_can_be_sent_from_the_log(login_as, make_issued_invoice, smtp_server):
    invoice = make_issued_invoice()
    client = login_as("operations")
    left = sending.queue_invoice(invoice, client.user)  # its page stopped right after saving
    left.created_at -= LEFTOVER_AGE * 2

    page = client.get("/contributions/messages/")
    sent = client.post("/contributions/messages/send-waiting", follow_redirects=True)
    again = client.post("/contributions/messages/send-waiting", follow_redirects=True)

    assert "One message was saved but not sent" in page.text
    assert "Sent the message that was waiting." in sent.text
    assert "No message was waiting." in again.text
    assert len(smtp_server.envelopes) == 1
    assert [event.kind for event in invoice.events] == [InvoiceEventKind.SENT]
