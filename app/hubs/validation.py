"""Checks for a hub's identifiers, each done by a maintained library (schwifty, python-stdnum, Pillow).

Every function returns the value in its normal written form, or raises `InvalidValue` with a message that
says what is wrong, in words a person can act on.
"""

from __future__ import annotations

import io
import warnings

import pycountry
from PIL import Image, UnidentifiedImageError
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from stdnum import exceptions as stdnum_errors
from stdnum.be import vat as be_vat
from stdnum.eu import vat as eu_vat
from stdnum.us import ein as us_ein
from stdnum.us import rtn as us_rtn
from stdnum.util import get_cc_module

from ..common.money import is_currency

#: A logo is embedded in every PDF, so it stays small.
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 4000 * 4000
LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class InvalidValue(ValueError):
    """The value is not a valid identifier; the message says why."""


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code or "")
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def _stdnum_problem(error: Exception) -> str:
    if isinstance(error, stdnum_errors.InvalidChecksum):
        return "the check digits do not match; look for a typing mistake"
    if isinstance(error, stdnum_errors.InvalidLength):
        return "it has the wrong number of digits"
    if isinstance(error, stdnum_errors.InvalidComponent):
        return "part of it is not possible (for example an unknown prefix)"
    return "it is not written in the expected format"


def enterprise_number(value: str) -> str:
    """A Belgian enterprise number (Crossroads Bank for Enterprises), written 0403.170.701."""
    try:
        digits = be_vat.validate(value)
    except stdnum_errors.ValidationError as error:
        raise InvalidValue(
            f"Not a valid Belgian enterprise number: {_stdnum_problem(error)}. "
            "It has 10 digits, such as 0403.170.701."
        ) from error
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def employer_identification_number(value: str) -> str:
    """A US Employer Identification Number, written 12-3456789."""
    try:
        return us_ein.format(us_ein.validate(value))
    except stdnum_errors.ValidationError as error:
        raise InvalidValue(
            f"Not a valid US Employer Identification Number (EIN): {_stdnum_problem(error)}. "
            "It has 9 digits, such as 12-3456789."
        ) from error


#: Registration numbers we can check, by country; elsewhere the number is kept as typed.
REGISTRATION_CHECKS = {"BE": enterprise_number, "US": employer_identification_number}


def registration_number(value: str, country_code: str) -> str:
    value = (value or "").strip()
    check = REGISTRATION_CHECKS.get(country_code)
    return check(value) if value and check else value


def _vat_prefix(country_code: str) -> str:
    return "EL" if country_code == "GR" else country_code


def vat_number(value: str, country_code: str) -> str:
    """A VAT number of the hub's own country: EU numbers through stdnum.eu.vat, others by their country."""
    value = (value or "").strip()
    if not value:
        return ""
    name = country_name(country_code)
    if country_code.lower() in eu_vat.MEMBER_STATES or country_code == "GR":
        prefix = _vat_prefix(country_code)
        candidate = value if value[:2].upper().isalpha() else prefix + value
        try:
            number = eu_vat.validate(candidate)
        except stdnum_errors.ValidationError as error:
            raise InvalidValue(f"Not a valid VAT number for {name}: {_stdnum_problem(error)}.") from error
        if not number.startswith(prefix):
            raise InvalidValue(
                f"This is a VAT number of another country ({number[:2]}); "
                f"a hub in {name} has a number starting with {prefix}."
            )
        return number
    module = get_cc_module(country_code.lower(), "vat")
    if module is None:
        return value
    try:
        return module.compact(module.validate(value))
    except stdnum_errors.ValidationError as error:
        raise InvalidValue(f"Not a valid VAT number for {name}: {_stdnum_problem(error)}.") from error


def belgian_vat_matches_enterprise_number(vat: str, enterprise: str) -> bool:
    """In Belgium the VAT number is BE followed by the enterprise number."""
    return be_vat.compact(vat) == be_vat.compact(enterprise)


_IBAN_PROBLEMS = {
    schwifty_errors.InvalidChecksumDigits: "the check digits do not match; look for a typing mistake",
    schwifty_errors.InvalidBBANChecksum: "the account number's own check digits do not match",
    schwifty_errors.InvalidLength: "it has the wrong length for its country",
    schwifty_errors.InvalidCountryCode: "it does not start with a known country code",
    schwifty_errors.InvalidStructure: "its characters are not in the order its country uses",
    schwifty_errors.InvalidBankCode: "its bank code is not possible",
    schwifty_errors.InvalidAccountCode: "its account number is not possible",
}


def iban(value: str) -> str:
    """An IBAN, with its national check digits verified where schwifty knows them, in compact form."""
    try:
        with warnings.catch_warnings():
            # Countries without a known national checksum: the IBAN's own check digits still hold.
            warnings.simplefilter("ignore", schwifty_errors.NationalChecksumNotVerified)
            return str(IBAN(value, validate_bban=True).compact)
    except schwifty_errors.SchwiftyException as error:
        problem = next(
            (text for kind, text in _IBAN_PROBLEMS.items() if isinstance(error, kind)), "it is not an IBAN"
        )
        raise InvalidValue(f"Not a valid IBAN: {problem}.") from error


def bic(value: str) -> str:
    """A BIC (SWIFT code): 8 or 11 characters, a real country code."""
    try:
        return str(BIC(value))
    except schwifty_errors.InvalidLength as error:
        raise InvalidValue("Not a valid BIC: it has 8 or 11 characters, such as GKCCBEBB.") from error
    except schwifty_errors.InvalidCountryCode as error:
        raise InvalidValue("Not a valid BIC: characters 5 and 6 are not a country code.") from error
    except schwifty_errors.SchwiftyException as error:
        raise InvalidValue(
            "Not a valid BIC: 4 letters for the bank, 2 for the country, then letters or digits."
        ) from error


def routing_number(value: str) -> str:
    """A US bank routing number (ABA), whose last digit is a checksum."""
    try:
        return us_rtn.validate(value)
    except stdnum_errors.ValidationError as error:
        raise InvalidValue(f"Not a valid ABA routing number: {_stdnum_problem(error)}.") from error


def currency(value: str) -> str:
    if not is_currency(value):
        raise InvalidValue("Not an ISO 4217 currency code.")
    return value


def logo(content: bytes) -> str:
    """Decode the picture with Pillow; return its MIME type if it is a PNG or JPEG of at most 1 MB."""
    if not content:
        raise InvalidValue("The file is empty.")
    if len(content) > LOGO_MAX_BYTES:
        raise InvalidValue(f"The logo is {len(content) / 1024 / 1024:.1f} MB; it may be at most 1 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as picture:
                kind = picture.format
                width, height = picture.size
                picture.verify()
            # verify() checks the structure; loading decodes every pixel, which catches truncated files.
            with Image.open(io.BytesIO(content)) as picture:
                picture.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
    ) as error:
        raise InvalidValue("This file is not a picture that can be read; upload a PNG or JPEG.") from error
    except Image.DecompressionBombError as error:
        raise InvalidValue("The picture is far too large in pixels for a logo.") from error
    if kind not in LOGO_FORMATS:
        raise InvalidValue(f"The logo is a {kind} picture; upload a PNG or JPEG.")
    if width * height > LOGO_MAX_PIXELS:
        raise InvalidValue(f"The logo is {width}×{height} pixels; keep it under 4000×4000.")
    return LOGO_FORMATS[kind]
