"""Identifiers are checked by schwifty, python-stdnum and Pillow; a wrong one gets a message that says why."""

import pytest

from app.hubs import validation
from app.hubs.validation import InvalidValue

from .conftest import picture


def test_a_belgian_enterprise_number_is_written_the_official_way():
    assert validation.enterprise_number("BE 0888776653") == "0888.776.653"
    assert validation.registration_number("0403170701", "BE") == "0403.170.701"


@pytest.mark.parametrize(
    ("number", "problem"),
    [("0888.776.654", "check digits do not match"), ("0888.776", "wrong number of digits")],
)
def test_a_wrong_enterprise_number_says_what_is_wrong(number, problem):
    with pytest.raises(InvalidValue, match=problem):
        validation.registration_number(number, "BE")


def test_a_us_registration_number_is_an_ein_and_other_countries_keep_what_was_typed():
    assert validation.registration_number("530009999", "US") == "53-0009999"
    with pytest.raises(InvalidValue, match="Employer Identification Number"):
        validation.registration_number("07-1234567", "US")
    assert validation.registration_number(" KvK 12345678 ", "NL") == "KvK 12345678"


def test_eu_vat_numbers_are_checked_for_the_hubs_own_country():
    assert validation.vat_number("BE 0888.776.653", "BE") == "BE0888776653"
    assert validation.vat_number("0888776653", "BE") == "BE0888776653"
    assert validation.vat_number("FR 40 303 265 045", "FR") == "FR40303265045"
    with pytest.raises(InvalidValue, match="VAT number for Belgium: the check digits"):
        validation.vat_number("BE0888776654", "BE")
    with pytest.raises(InvalidValue, match="another country"):
        validation.vat_number("FR40303265045", "BE")
    assert validation.vat_number("", "BE") == ""


def test_vat_numbers_outside_the_eu_use_the_countrys_module_when_stdnum_has_one():
    assert validation.vat_number("GB 980 7806 84", "GB") == "980780684"
    with pytest.raises(InvalidValue, match="United Kingdom"):
        validation.vat_number("GB 980 7806 85", "GB")


def test_belgian_vat_is_be_followed_by_the_enterprise_number():
    assert validation.belgian_vat_matches_enterprise_number("BE0888776653", "0888.776.653")
    assert not validation.belgian_vat_matches_enterprise_number("BE0403170701", "0888.776.653")


def test_ibans_are_kept_compact_and_wrong_ones_are_explained():
    assert validation.iban("be22 0960 0123 4547") == "BE22096001234547"
    with pytest.raises(InvalidValue, match="check digits do not match"):
        validation.iban("BE22096001234548")
    with pytest.raises(InvalidValue, match="wrong length"):
        validation.iban("BE2209600123454")
    with pytest.raises(InvalidValue, match="Not a valid IBAN"):
        validation.iban("hello")


def test_bics_are_checked_for_length_and_country():
    assert validation.bic("gkccbebb") == "GKCCBEBB"
    with pytest.raises(InvalidValue, match="8 or 11 characters"):
        validation.bic("GKCCBEB")
    with pytest.raises(InvalidValue, match="not a country code"):
        validation.bic("GKCCXXBB")


def test_routing_numbers_pass_the_aba_checksum():
    assert validation.routing_number("054000991") == "054000991"
    with pytest.raises(InvalidValue, match="ABA routing number: the check digits"):
        validation.routing_number("054000992")


def test_currencies_are_iso_4217_codes():
    assert validation.currency("EUR") == "EUR"
    with pytest.raises(InvalidValue, match="ISO 4217"):
        validation.currency("EURO")


def test_logos_are_decoded_png_or_jpeg_pictures_up_to_one_megabyte():
    assert validation.logo(picture("PNG")) == "image/png"
    assert validation.logo(picture("JPEG")) == "image/jpeg"
    with pytest.raises(InvalidValue, match="not a picture"):
        validation.logo(b"%PDF-1.7 not a picture")
    with pytest.raises(InvalidValue, match="not a picture"):
        validation.logo(picture("PNG")[:60])  # cut short: the header is there, the pixels are not
    with pytest.raises(InvalidValue, match="GIF picture"):
        validation.logo(picture("GIF"))
    with pytest.raises(InvalidValue, match="at most 1 MB"):
        validation.logo(b"\x89PNG" + b"0" * (1024 * 1024))
    with pytest.raises(InvalidValue, match="empty"):
        validation.logo(b"")
