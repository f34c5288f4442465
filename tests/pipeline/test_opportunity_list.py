"""The opportunities list: largest asks first, a page at a time, with the totals of every ask it selects."""

from tests.helpers import count_queries, visible_text


def test_the_list_pages_through_the_asks_largest_first_with_totals_of_them_all(
    login_as, make_opportunity, small_pages
):
    for amount in ("1000.00", "5000.00", "3000.00", "3000.00", "2000.00"):
        make_opportunity(amount=amount, title=f"Ask of {amount}")
    client = login_as("fundraising")
    first = visible_text(client.get("/pipeline/opportunities").get_data(as_text=True))
    assert first.index("Ask of 5000.00") < first.index("Ask of 3000.00")
    assert "Ask of 2000.00" not in first and "Ask of 1000.00" not in first
    assert "1–2 of 5 opportunities" in first
    assert "$14,000.00" in first  # every selected ask, not the page's
    last = visible_text(client.get("/pipeline/opportunities?page=3").get_data(as_text=True))
    assert "Ask of 1000.00" in last and "Ask of 5000.00" not in last
    beyond = visible_text(client.get("/pipeline/opportunities?page=99").get_data(as_text=True))
    assert "Ask of 1000.00" in beyond  # a page beyond the last shows the last


def test_a_deep_page_costs_what_the_first_costs(login_as, make_opportunity, small_pages):
    for n in range(7):
        make_opportunity(amount=f"{1000 + n}.00")
    client = login_as("fundraising")
    assert count_queries(client, "/pipeline/opportunities?page=4") == count_queries(
        client, "/pipeline/opportunities"
    )
