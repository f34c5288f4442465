"""A fundraiser, in a real browser: find a foundation, see who can introduce them, request the introduction,
log the meeting with its next step, complete it, record the gift, make its thank-you letter and e-mail it."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from app.common.time import today
from app.donors.models import ConnectorRole
from app.extensions import db


def test_from_search_to_recorded_and_thanked_gift(
    sign_in_page, smtp_server, make_organisation, make_contact, make_connector, make_hub
):
    make_hub(name="Washington DC headquarters", base_currency="USD", country_code="US")
    foundation = make_organisation(name="Fundação São Paulo", country_code="BR")
    officer = make_contact(name="Ana Ribeiro", email="ana@fsp.example", organisation=foundation)
    make_connector(
        name="Margaret Okonjo", role=ConnectorRole.BOARD, knows=[officer], nature="Former colleague"
    )
    db.session.flush()
    page = sign_in_page("fundraising", full_name="Fatima Fundraiser")

    page.goto("/donors/")
    page.get_by_label("Find an organisation").fill("sao paulo")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Fundação São Paulo").click()

    introducers = page.locator("#who-can-introduce")
    expect(introducers).to_contain_text("Margaret Okonjo")
    expect(introducers).to_contain_text("Ana Ribeiro")
    introducers.get_by_role("button", name="Ask for an introduction").click()
    page.get_by_label("Who is introduced").select_option(label="Fatima Fundraiser")
    page.get_by_label("Why").fill("The governance programme")
    page.get_by_role("button", name="Request the introduction").click()
    expect(page.locator(".flash-success")).to_contain_text("Introduction requested from Margaret Okonjo")
    expect(page.locator("#introductions")).to_contain_text("Requested")

    page.locator("#introductions").get_by_role("link").first.click()
    page.get_by_label("Status").select_option(label="Made")
    page.get_by_label("Outcome").fill("Lunch on Friday")
    page.get_by_role("button", name="Save the status").click()
    expect(page.locator(".flash-success")).to_contain_text("made")
    page.get_by_role("link", name="Fundação São Paulo").click()

    page.get_by_role("button", name="Log an interaction").click()
    page.get_by_label("Their participants").select_option(label="Ana Ribeiro")
    page.get_by_label("Summary").fill("Interested in a two-year grant.")
    page.get_by_label("Next step").fill("Send the concept note")
    page.get_by_label("Due on").fill((today() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Log the interaction").click()
    expect(page.locator("#interactions")).to_contain_text("Send the concept note")

    page.get_by_role("link", name="My next steps").click()
    expect(page.get_by_text("Send the concept note")).to_be_visible()
    page.get_by_role("button", name="Done").click()
    expect(page.locator(".flash-success")).to_contain_text("Done: Send the concept note")

    page.goto(f"/donors/organisations/{foundation.id}")
    page.get_by_role("button", name="Record a gift").click()
    page.get_by_label("Amount").fill("25000.00")
    page.get_by_label("Thank-you addressed to").select_option(label="Ana Ribeiro")
    expect(page.get_by_label("Introduced by")).to_have_value(
        page.get_by_label("Introduced by").locator("option").nth(1).get_attribute("value")
    )
    page.get_by_role("button", name="Record the gift").click()
    expect(page.locator(".flash-success")).to_contain_text("The gift was recorded")
    expect(page.get_by_role("heading", name="$25,000.00 from Fundação São Paulo")).to_be_visible()
    expect(page.get_by_text("Margaret Okonjo")).to_be_visible()

    letter = page.locator("#acknowledgement")
    letter.get_by_label("Language of the letter").select_option(label="English")
    letter.get_by_role("button", name="Make the thank-you letter").click()
    expect(page.locator(".flash-success")).to_contain_text("The thank-you letter is ready")
    link = letter.get_by_role("link", name="Thank-you letter (English, PDF)")
    download = page.request.get(link.get_attribute("href"))
    assert download.headers["content-type"] == "application/pdf"

    letter.get_by_role("button", name="E-mail it to ana@fsp.example").click()
    expect(page.locator(".flash-success")).to_contain_text("The letter was e-mailed to ana@fsp.example.")
    expect(page.locator("#acknowledgement")).to_contain_text("E-mail to ana@fsp.example: Sent")
    expect(page.locator("#acknowledgement")).to_contain_text("Acknowledged on")
    (received,) = smtp_server.messages()
    assert received["To"] == "ana@fsp.example"
    assert [part.get_content() for part in received.iter_attachments()] == [download.body()]
