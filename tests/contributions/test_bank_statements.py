"""Reading bank files: camt.053 and camt.054 of several versions and banks, MT940 of several layouts, in EUR
and USD; and every kind of bad file refused with its reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.contributions.services.bank_statements import StatementRefused, parse_statement_file

FILES = Path(__file__).parent / "bank_files"


def read(name: str):
    return parse_statement_file((FILES / name).read_bytes(), name)


def test_a_belgian_camt053_v02_statement_is_read_with_its_balances_and_booked_entries_only():
    statement = read("belfius_camt053_v02_eur.xml")

    assert (statement.format, statement.account, statement.currency) == (
        "camt.053",
        "BE71096123456769",
        "EUR",
    )
    assert statement.bank_identifier == "2027-00043"
    assert (statement.from_date, statement.to_date) == (date(2027, 2, 11), date(2027, 2, 11))
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("15200.00"),
        Decimal("47675.00"),
    )
    # The pending entry is left for the statement that books it.
    assert [(entry.amount, entry.is_credit) for entry in statement.entries] == [
        (Decimal("10000.00"), True),
        (Decimal("7500.00"), True),
        (Decimal("15000.00"), True),
        (Decimal("25.00"), False),
    ]
    first = statement.entries[0]
    assert first.structured_reference == "270010001258"
    assert first.counterparty_name == "TRESOR PUBLIC - DIRECTION GENERALE DES FINANCES"
    assert first.counterparty_account == "FR7630001007941234567890185"
    assert first.bank_reference == "B7B11CI0A1B2C3D4"
    assert first.end_to_end_id == "MINFIN-FR-2027-118"
    assert statement.entries[1].end_to_end_id == ""  # NOTPROVIDED is no reference
    assert statement.entries[1].remittance_text == "CONTRIBUCION ANUAL FACTURA be 2027 0013"
    assert statement.entries[3].remittance_text == "FRAIS DE GESTION DE COMPTE"


def test_a_us_camt053_v08_statement_with_an_account_number_and_wrapped_parties_is_read():
    statement = read("jpmorgan_camt053_v08_usd.xml")

    assert (statement.account, statement.currency) == ("000123456789", "USD")
    assert statement.opening_balance == Decimal("250000.00")
    wire, kenya, stripe = statement.entries
    assert wire.booked_on == date(2027, 3, 1)
    assert wire.counterparty_name == "SECRETARIA DE HACIENDA Y CREDITO PUBLICO"
    assert wire.structured_reference == "RF65US20270007"
    assert kenya.remittance_text == "OBI: PAYMENT OF INVOICE US-2027-0008 LESS CHARGES"
    assert stripe.value_on is None
    assert stripe.counterparty_name == "STRIPE"


def test_a_camt054_notification_is_read_with_the_reference_left_in_its_text():
    statement = read("kbc_camt054_v08_eur.xml")

    assert statement.format == "camt.054"
    assert statement.opening_balance is None
    (entry,) = statement.entries
    assert entry.counterparty_name == "Ville de Liège"
    assert entry.remittance_text == "Cotisation 2027 +++270/0100/01359+++"
    assert entry.structured_reference == ""


def test_a_belgian_mt940_with_swift_style_details_is_read():
    statement = read("bnp_mt940_eur.sta")

    assert (statement.format, statement.account, statement.currency) == ("mt940", "BE71096123456769", "EUR")
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("47675.00"),
        Decimal("62432.50"),
    )
    senegal, spain, charges = statement.entries
    assert senegal.amount == Decimal("10020.00")
    assert senegal.structured_reference == "270010001460"
    assert senegal.counterparty_name == "MINISTERE DES FINANCES DU SENEGAL"  # a wrapped line joined back
    assert senegal.counterparty_account == "SN08SN0100152000048500003035"
    assert senegal.bank_reference == "2702160011"
    assert spain.remittance_text == "FACTURE BE-2027-0013 SOLDE"
    assert not charges.is_credit and charges.amount == Decimal("12.50")


def test_a_german_mt940_with_structured_details_is_read():
    statement = read("deutsche_bank_mt940_eur.sta")

    assert statement.account == "0532013000"  # bank code/account: the account part
    (entry,) = statement.entries
    assert entry.counterparty_name == "Freie und Hansestadt Hamburg Finanzbehoerde"
    assert entry.counterparty_account == "DE44200505501234567890"
    assert entry.remittance_text == "Mitgliedsbeitrag Rechnung BE-2027-0021"
    assert entry.bank_reference == ""  # NONREF: the entry will be keyed by a hash


def test_a_dollar_mt940_is_read():
    statement = read("citi_mt940_usd.sta")

    assert (statement.account, statement.currency) == ("000123456789", "USD")
    (entry,) = statement.entries
    assert entry.structured_reference == "RF38US20270008"


def test_an_entry_without_a_bank_reference_has_a_stable_key():
    first = read("deutsche_bank_mt940_eur.sta")
    again = read("deutsche_bank_mt940_eur.sta")

    key = first.entries[0].dedupe_key(first.account)
    assert key.startswith("sha256:")
    assert key == again.entries[0].dedupe_key(again.account)


CAMT_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'


def camt(body: str, namespace: str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02") -> bytes:
    return (
        f'{CAMT_HEAD}<Document xmlns="{namespace}"><BkToCstmrStmt><Stmt><Id>1</Id>'
        f"<Acct><Id><IBAN>BE71096123456769</IBAN></Id><Ccy>EUR</Ccy></Acct>{body}</Stmt></BkToCstmrStmt>"
        "</Document>"
    ).encode()


def entry(
    amount='<Amt Ccy="EUR">10.00</Amt>', indicator="CRDT", booked="<BookgDt><Dt>2027-01-02</Dt></BookgDt>"
):
    return f"<Ntry>{amount}<CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>{booked}</Ntry>"


@pytest.mark.parametrize(
    "namespace",
    [
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.04",
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
        "urn:iso:std:iso:20022:tech:xsd:camt.053.001.13",
    ],
)
def test_every_camt053_version_is_accepted(namespace):
    statement = parse_statement_file(camt(entry(), namespace))

    assert statement.entries[0].amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (camt(entry())[:-40], "malformed"),
        (camt(entry(), "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"), "not a camt.053"),
        (camt(entry(amount='<Amt Ccy="EUR">ten</Amt>')), "'ten' is not an amount"),
        (camt(entry(amount='<Amt Ccy="EUR">10.005</Amt>')), "at most 2 decimal places"),
        (camt(entry(amount='<Amt Ccy="XXZ">10.00</Amt>')), "no valid currency"),
        (camt(entry(indicator="MAYBE")), "credit or a debit"),
        (camt(entry(booked="")), "no booking date"),
        (camt(entry(booked="<BookgDt><Dt>2027-02-30</Dt></BookgDt>")), "is not a date"),
        (
            CAMT_HEAD.encode()
            + b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            + b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&lol2;</Document>',
            "DTD or entities",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>',
            "DTD or entities",
        ),
        (b'<?xml version="1.0" encoding="UTF-8"?><Document>caf\xe9</Document>', "malformed"),
        ("\ufeff:20:X\r\n:25:BE71\r\n".encode("utf-16"), "UTF-16"),
        (b"%PDF-1.7\n\x00\x01\x02binary", "UTF-16"),
        (b"Date;Amount\n2027-01-01;10\n", "CSV import"),
        (b":20:X\n:25:BE71096123456769\n:60F:C270101EUR0,00\n" + b"x" * 300 + b"\x00\n", "not text"),
        (b":20:X\n:60F:C270101EUR0,00\n:62F:C270101EUR0,00\n", "no account identification"),
        (
            b":20:X\n:25:BE71096123456769\n:60F:C270101EUR0,00\n:61:27010101C1O,00NTRFNONREF\n"
            b":62F:C270101EUR10,00\n",
            "malformed: its amount",
        ),
        (b":20:X\n:25:BE71096123456769\n:61:2701010101C10,00NTRFNONREF\n", "gives the currency"),
    ],
)
def test_a_bad_file_is_refused_with_its_reason(data, reason):
    with pytest.raises(StatementRefused, match=reason):
        parse_statement_file(data)


def test_a_file_with_two_accounts_is_refused():
    two = camt(entry()).replace(
        b"</Stmt>",
        b"</Stmt><Stmt><Id>2</Id><Acct><Id><IBAN>BE68539007547034</IBAN></Id><Ccy>EUR</Ccy></Acct></Stmt>",
    )
    with pytest.raises(StatementRefused, match="several accounts"):
        parse_statement_file(two)
