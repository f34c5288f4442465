"""One message per click: every send button's form carries a one-time token, so a double click, a browser
retrying the POST or the same form sent again from the back button sends nothing more, and says what the
first click did. Sending again on purpose is a new page, so a new token, and goes out."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
import sqlalchemy as sa

from app.common import mail
from app.common.mail import MailMessage
from app.contributions.services import sending
from app.extensions import db
from tests.conftest import count
from tests.helpers import all_at_once


def send_form(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the send button's form on a page, as a browser would post them."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(0)))


@pytest.fixture
def overdue_invoice(make_issued_invoice):
    return make_issued_invoice(amount="1000.00", issued_on=date(2026, 1, 5))


@pytest.mark.parametrize(
    ("page_of", "action_of", "first_words"),
    [
        (
            lambda invoice: f"/contributions/invoices/{invoice.id}",
            lambda invoice: f"/contributions/invoices/{invoice.id}/send",
            "Sent “Invoice",
        ),
        (
            lambda invoice: f"/contributions/members/{invoice.member_id}/statement",
            lambda invoice: f"/contributions/members/{invoice.member_id}/statement/send",
            "Sent “Statement of account",
        ),
        (
            lambda invoice: f"/contributions/invoices/{invoice.id}",
            lambda invoice: f"/contributions/invoices/{invoice.id}/remind",
            "Sent “Reminder: invoice",
        ),
    ],
    ids=["invoice", "statement", "reminder"],
)
def test_the_same_form_twice_sends_one_message_and_says_what_the_first_did(
    login_as, overdue_invoice, smtp_server, page_of, action_of, first_words
):
    client = login_as("operations")
    action = action_of(overdue_invoice)
    form = send_form(client.get(page_of(overdue_invoice)).text, action)
    assert form.keys() == {"csrf_token", mail.SEND_TOKEN_FIELD}

    first = client.post(action, data=form, follow_redirects=True)
    second = client.post(action, data=form, follow_redirects=True)

    assert first_words in first.text
    assert "That was the same button pressed again, so nothing more was sent." in second.text
    assert first_words in second.text
    assert len(smtp_server.envelopes) == 1
    assert count(MailMessage) == 1


def test_sending_again_on_purpose_is_a_new_page_and_goes_out(login_as, overdue_invoice, smtp_server):
    client = login_as("operations")
    page, action = (
        f"/contributions/invoices/{overdue_invoice.id}",
        f"/contributions/invoices/{overdue_invoice.id}/send",
    )

    client.post(action, data=send_form(client.get(page).text, action))
    client.post(action, data=send_form(client.get(page).text, action))

    assert len(smtp_server.envelopes) == 2


def test_each_drawing_of_a_page_has_a_new_token(login_as, overdue_invoice):
    client = login_as("operations")
    page, action = (
        f"/contributions/invoices/{overdue_invoice.id}",
        f"/contributions/invoices/{overdue_invoice.id}/send",
    )

    tokens = {send_form(client.get(page).text, action)[mail.SEND_TOKEN_FIELD] for _ in range(3)}

    assert len(tokens) == 3


@pytest.mark.parametrize("token", ["", "short", "x" * 65, "not a token!" * 2, "<script>alert(1)</script>x"])
def test_a_request_without_a_proper_token_is_sent_as_before(login_as, overdue_invoice, smtp_server, token):
    client = login_as("operations")

    response = client.post(
        f"/contributions/invoices/{overdue_invoice.id}/send",
        data={mail.SEND_TOKEN_FIELD: token},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert len(smtp_server.envelopes) == 1
    assert db.session.scalar(sa.select(MailMessage.send_token)) is None


def test_the_service_refuses_a_token_it_has_seen(overdue_invoice, make_user):
    actor = make_user("operations")
    token = mail.new_send_token()
    sending.queue_invoice(overdue_invoice, actor, token)

    with pytest.raises(mail.RepeatedSend, match="nothing more was sent"):
        sending.queue_invoice(overdue_invoice, actor, token)
    assert count(MailMessage) == 1


# --- Real concurrency (PostgreSQL) -------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.real_commits
def test_four_clicks_at_once_on_one_button_send_one_invoice(
    app, login_as, overdue_invoice, smtp_server, monkeypatch
):
    """The token is looked up under the invoice's row lock: without the lock, all four read "not seen yet"."""
    build = sending.build_message

    def slow_build(*args, **kwargs):
        time.sleep(0.3)  # between the decision and the commit, where a race would happen
        return build(*args, **kwargs)

    monkeypatch.setattr(sending, "build_message", slow_build)
    tabs = [login_as("operations") for _ in range(4)]
    invoice_page, action = (
        f"/contributions/invoices/{overdue_invoice.id}",
        f"/contributions/invoices/{overdue_invoice.id}/send",
    )
    db.session.commit()
    db.session.remove()
    form = send_form(tabs[0].get(invoice_page).text, action)
    pages = []

    outcomes = all_at_once(
        app,
        *[
            lambda tab=tab: pages.append(tab.post(action, data=form, follow_redirects=True).text)
            for tab in tabs
        ],
    )

    assert outcomes == ["done"] * 4
    assert len(smtp_server.envelopes) == 1
    assert count(MailMessage) == 1
    assert sum("same button pressed again" in page for page in pages) == 3
