import re

from playwright.sync_api import expect

from tests.builders.auth import PASSWORD


def test_sign_in_see_your_name_and_sign_out(page, make_user):
    make_user("fundraising", email="journey@example.org", full_name="Journey Person")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_label("E-mail").fill("journey@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator(".user-name")).to_have_text("Journey Person")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in to Tributary")).to_be_visible()


def test_a_wrong_password_shows_the_generic_error(page, make_user):
    make_user(email="typo@example.org")

    page.goto("/login")
    page.get_by_label("E-mail").fill("typo@example.org")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#login-error")).to_contain_text("Those details did not work")
    expect(page.locator(".user-name")).to_have_count(0)
