"""A member government and its donor organisations: the organisation page shows the member's contributions,
the member page the organisations' gifts."""

from decimal import Decimal

from app.contributions.funders import MemberOrganisation
from app.extensions import db
from tests.conftest import count


def test_linking_by_name_ignores_accents_and_case(login_as, make_member, make_organisation):
    member = make_member(name="France")
    agency = make_organisation(name="Agence française de développement")
    response = login_as("operations").post(
        f"/contributions/members/{member.id}/organisations",
        data={"organisation": "agence francaise de developpement"},
    )
    assert response.status_code == 302
    assert db.session.query(MemberOrganisation).one().organisation_id == agency.id


def test_an_unknown_name_links_nothing_and_says_so(login_as, make_member):
    member = make_member()
    client = login_as("operations")
    response = client.post(
        f"/contributions/members/{member.id}/organisations",
        data={"organisation": "Nowhere"},
        follow_redirects=True,
    )
    assert "No donor organisation has this name" in response.text
    assert count(MemberOrganisation) == 0


def test_member_page_shows_the_linked_organisations_gifts(
    login_as, make_member, make_organisation, make_gift
):
    member = make_member(name="Sweden")
    sida = make_organisation(name="Sida")
    db.session.add(MemberOrganisation(member=member, organisation=sida))
    make_gift(organisation=sida, amount=Decimal("120000.00"), currency="USD")
    page = login_as("board").get(f"/contributions/members/{member.id}")
    assert "Also a funder" in page.text and "Sida" in page.text
    assert "$120,000.00" in page.text


def test_organisation_page_shows_the_members_contributions(
    login_as, make_member, make_organisation, make_issued_invoice
):
    member = make_member(name="Norway")
    norad = make_organisation(name="Norad")
    db.session.add(MemberOrganisation(member=member, organisation=norad))
    make_issued_invoice(member=member)
    page = login_as("fundraising").get(f"/donors/organisations/{norad.id}")
    assert "Contributions of the member government" in page.text
    assert "Norway: invoiced / paid" in page.text


def test_board_cannot_link(login_as, make_member):
    member = make_member()
    assert (
        login_as("board").post(f"/contributions/members/{member.id}/organisations", data={}).status_code
        == 403
    )
