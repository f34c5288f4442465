"""Income groups for a fiscal year: the overview, copying last year forward, and the World Bank import."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from openpyxl import Workbook

from app.common.audit import AuditEntry
from app.common.imports import ImportRejected, RowProblem
from app.contributions.models import IncomeGroup, InvoiceKind, MemberIncomeGroup, MemberStatus
from app.contributions.services import income_groups as service
from app.extensions import db

FY = 2027
PREVIOUS = 2026
IMPORT_URL = "/contributions/income-groups/import"
CONFIRM_URL = "/contributions/income-groups/import/confirm"
COPY_URL = "/contributions/income-groups/copy-forward"


def group_of(member, year: int = FY) -> IncomeGroup | None:
    return db.session.scalar(
        sa.select(MemberIncomeGroup.income_group).where(
            MemberIncomeGroup.member_id == member.id, MemberIncomeGroup.fiscal_year == year
        )
    )


def group_rows() -> list[tuple]:
    """Every recorded group, to show that a refused import or confirmation changed nothing."""
    return sorted(
        db.session.execute(
            sa.select(
                MemberIncomeGroup.member_id, MemberIncomeGroup.fiscal_year, MemberIncomeGroup.income_group
            )
        ).all()
    )


def csv_file(text: str, name: str = "groups.csv", encoding: str = "utf-8") -> tuple[io.BytesIO, str]:
    return io.BytesIO(text.encode(encoding)), name


def xlsx_file(rows: list[list], name: str = "CLASS.xlsx") -> tuple[io.BytesIO, str]:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer, name


def upload(client, file, fiscal_year: int = FY):
    return client.post(
        IMPORT_URL, data={"fiscal_year": str(fiscal_year), "file": file}, content_type="multipart/form-data"
    )


def payload_of(preview_page: str) -> str:
    return re.search(r'name="payload" type="hidden" value="([^"]+)"', preview_page).group(1)


def problems_listed(page: str) -> list[tuple[str, str]]:
    """(row, message) of each problem in the page's problem table."""
    section = page.split('id="problems"', 1)[1].split("</section>", 1)[0]
    cells = re.findall(r'<tr><td class="num">([^<]*)</td><td>([^<]*)</td></tr>', section)
    return [(row, message.replace("&#34;", '"').replace("&#39;", "'")) for row, message in cells]


@pytest.fixture
def members(make_member):
    """Kenya lower-middle for FY2027; Ghana low for FY2027; Senegal with only a FY2026 group; Chile none."""
    kenya = make_member(name="Kenya", country_code="KE", income_group="lower_middle", fiscal_year=FY)
    ghana = make_member(name="Ghana", country_code="GH", income_group="low", fiscal_year=FY)
    senegal = make_member(
        name="Senegal", country_code="SN", income_group="lower_middle", fiscal_year=PREVIOUS
    )
    chile = make_member(name="Chile", country_code="CL", income_group=None)
    return {"KE": kenya, "GH": ghana, "SN": senegal, "CL": chile}


# --- Reading files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [("Kenya", "KE"), ("KEN", "KE"), ("KE", "KE"), ("ken", "KE"), (" Kenya ", "KE"), ("Côte d'Ivoire", "CI")]
    + [("Cote d'Ivoire", "CI"), ("Viet Nam", "VN"), ("Bolivia", "BO"), ("Korea, Republic of", "KR")],
)
def test_a_country_is_read_from_its_iso_codes_or_its_name(written, code):
    assert service.read_country(written) == code


@pytest.mark.parametrize("written", ["Kenia", "KEM", "XX", "Congo, Dem. Rep.", "12", ""])
def test_what_is_not_a_known_country_is_not_guessed(written):
    assert service.read_country(written) is None


@pytest.mark.parametrize(
    ("written", "group"),
    [
        ("High income", IncomeGroup.HIGH),
        ("HIGH INCOME", IncomeGroup.HIGH),
        ("Upper middle income", IncomeGroup.UPPER_MIDDLE),
        ("Upper-middle income", IncomeGroup.UPPER_MIDDLE),
        ("Lower middle income", IncomeGroup.LOWER_MIDDLE),
        ("lower-middle income", IncomeGroup.LOWER_MIDDLE),
        ("Low income", IncomeGroup.LOW),
        ("high", IncomeGroup.HIGH),
        ("upper_middle", IncomeGroup.UPPER_MIDDLE),
        ("lower_middle", IncomeGroup.LOWER_MIDDLE),
        ("low", IncomeGroup.LOW),
    ],
)
def test_group_names_are_read_as_the_world_bank_and_we_write_them(written, group):
    assert service.read_income_group(written) == group


def test_the_world_bank_file_is_read_as_published_with_title_rows_totals_and_kosovo():
    content = (
        b"World Bank income classification FY2027\n"
        b"\n"
        b"Economy,Code,Region,Income group,Lending category\n"
        b"Kenya,KEN,Sub-Saharan Africa,Lower middle income,IDA\n"
        b'"Korea, Rep.",KOR,East Asia & Pacific,High income,\n'
        b"Kosovo,XKX,Europe & Central Asia,Upper middle income,IDA\n"
        b'"Venezuela, RB",VEN,Latin America & Caribbean,,\n'
        b"East Asia & Pacific,EAS,,,\n"
        b"World,WLD,,,\n"
    )

    parsed = service.parse_upload("CLASS.csv", content)

    assert [(row.row, row.country_code, row.income_group) for row in parsed.rows] == [
        (4, "KE", IncomeGroup.LOWER_MIDDLE),
        (5, "KR", IncomeGroup.HIGH),
    ]
    assert [(row.row, row.text) for row in parsed.skipped] == [
        (6, "XKX"),
        (7, "Venezuela, RB (VEN)"),
        (8, "East Asia & Pacific (EAS)"),
        (9, "World (WLD)"),
    ]


def test_a_semicolon_csv_saved_by_a_french_spreadsheet_in_windows_encoding_is_read():
    content = "Pays;Groupe de revenu\n".encode("cp1252")  # no known header: refused, see below
    with pytest.raises(ImportRejected):
        service.parse_upload("pays.csv", content)

    content = "Country;Income group\nCôte d'Ivoire;Lower middle income\nSénégal;Lower middle income\n"
    parsed = service.parse_upload("groups.csv", content.encode("cp1252"))
    assert [(row.country_code, row.income_group) for row in parsed.rows] == [
        ("CI", IncomeGroup.LOWER_MIDDLE),
        ("SN", IncomeGroup.LOWER_MIDDLE),
    ]


def test_an_xlsx_file_is_read_from_its_first_sheet():
    buffer, name = xlsx_file(
        [
            ["Economy", "Code", "Region", "Income group"],
            ["Kenya", "KEN", "Sub-Saharan Africa", "Lower middle income"],
            ["Chile", "CHL", "Latin America & Caribbean", "High income"],
        ]
    )
    parsed = service.parse_upload(name, buffer.getvalue())
    assert [(row.row, row.country_code, row.income_group) for row in parsed.rows] == [
        (2, "KE", IncomeGroup.LOWER_MIDDLE),
        (3, "CL", IncomeGroup.HIGH),
    ]


def test_every_bad_row_is_listed_with_its_row_number():
    content = (
        b"Country,Income group\n"
        b"Kenya,Lower middle income\n"  # fine
        b"Kenia,Low income\n"  # unreadable country
        b"Ghana,Lower-middle-ish\n"  # unknown group
        b"KEN,Lower middle income\n"  # Kenya again
        b",High income\n"  # no country
        b"Chile,High income\n"  # fine
    )

    with pytest.raises(ImportRejected) as rejected:
        service.parse_upload("groups.csv", content)

    assert [(problem.row, problem.message) for problem in rejected.value.problems] == [
        (
            3,
            "“Kenia” is not a country this import knows: use the ISO alpha-2 or alpha-3 code (KE, KEN) "
            "or the country's name (Kenya).",
        ),
        (
            4,
            "“Lower-middle-ish” is not an income group: use High income, Upper middle income, "
            "Lower middle income or Low income.",
        ),
        (5, "Kenya is already on row 2: keep one row per country."),
        (6, "No country on this row."),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("groups.csv", b"", "The file is empty."),
        ("groups.csv", b"\n\n  \n", "The file is empty."),
        ("groups.csv", b",,\n,,\n", "The file is empty."),
        ("groups.csv", b"Country,Income group\n", "The file has no row with a country and an income group."),
        ("groups.pdf", b"%PDF-1.7 not a table", "Upload a CSV (.csv) or Excel (.xlsx) file."),
        (
            "logo.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This file is named .csv but is not text: it is a PNG image.",
        ),
        (
            "CLASS.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old",
            "This is an old Excel (.xls) file: save it as .xlsx or .csv.",
        ),
        ("CLASS.xlsx", b"PK\x03\x04 broken zip", "The Excel file could not be read: save it again as .xlsx."),
        (
            "big.csv",
            b"Country,Income group\n" + b"Kenya,Low income\n" * 130_000,
            "The file is larger than 2 MB.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_clear_message(name, content, message):
    with pytest.raises(ImportRejected) as rejected:
        service.parse_upload(name, content)
    assert [(problem.row, problem.message) for problem in rejected.value.problems] == [(None, message)]


def test_a_file_with_thousands_of_rows_is_refused_but_trailing_blank_rows_are_not_counted(monkeypatch):
    monkeypatch.setattr(service, "MAX_ROWS", 10)
    many = b"Country,Income group\n" + b"Kenya,Low income\n" + b",\n" * 8 + b"Chile,High income\n" * 2
    with pytest.raises(ImportRejected) as rejected:
        service.parse_upload("groups.csv", many)
    assert rejected.value.problems == [
        RowProblem(None, "The file has more than 10 rows: is it the right file?")
    ]

    buffer, name = xlsx_file([["Country", "Income group"], ["Kenya", "Low income"]] + [[None, None]] * 50)
    assert [row.row for row in service.parse_upload(name, buffer.getvalue()).rows] == [2]


def test_missing_columns_are_named():
    with pytest.raises(ImportRejected) as rejected:
        service.parse_upload("groups.csv", b"Country,Region\nKenya,Africa\n")
    assert [(p.row, p.message) for p in rejected.value.problems] == [
        (1, "No income group column: name one column “Income group”.")
    ]
    with pytest.raises(ImportRejected) as rejected:
        service.parse_upload("groups.csv", b"Region,Income group\nAfrica,Low income\n")
    assert [(p.row, p.message) for p in rejected.value.problems] == [
        (1, "No country column: name one column “Code” (ISO alpha-2 or alpha-3) or “Country”.")
    ]


# --- The import in the pages --------------------------------------------------------------------------------


def test_an_upload_with_one_bad_row_imports_no_row_and_lists_every_bad_row(login_as, members):
    client = login_as("operations")
    before = group_rows()
    audit_before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))

    response = upload(
        client,
        csv_file(
            "Code,Income group\n"
            "CHL,High income\n"
            "SEN,Lower middle income\n"
            "KEN,Upper-middle income\n"
            "GHA,Rich\n"
            "ZZZ,Low income\n"
        ),
    )

    assert response.status_code == 422
    assert "Nothing was imported: 2 problems to fix" in response.text
    assert problems_listed(response.text) == [
        (
            "5",
            "“Rich” is not an income group: use High income, Upper middle income, Lower middle income or "
            "Low income.",
        ),
        (
            "6",
            "“ZZZ” is not a country this import knows: use the ISO alpha-2 or alpha-3 code (KE, KEN) or the "
            "country's name (Kenya).",
        ),
    ]
    assert 'name="confirm' not in response.text and "payload" not in response.text
    assert group_rows() == before
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audit_before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("groups.csv", b"", "The file is empty."),
        ("groups.csv", b"Country,Region\nKenya,Africa\n", "No income group column"),
        ("groups.pdf", b"%PDF-1.7", "Upload a CSV (.csv) or Excel (.xlsx) file."),
        ("big.csv", b"Country,Income group\n" + b"Kenya,Low income\n" * 200, "The file is larger than 2 KB."),
    ],
)
def test_a_bad_file_is_refused_in_the_page_and_changes_nothing(
    login_as, members, monkeypatch, name, content, message
):
    # A small limit here: the test client spools bodies over 500 KB to a file it never closes.
    monkeypatch.setattr(service, "MAX_UPLOAD_BYTES", 2048)
    before = group_rows()
    response = upload(login_as("operations"), (io.BytesIO(content), name))
    assert response.status_code == 422
    assert message in response.text
    assert group_rows() == before


def test_the_form_asks_for_a_file_and_a_year(login_as):
    response = login_as("operations").post(
        IMPORT_URL, data={"fiscal_year": "27"}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert 'id="fiscal_year-error">Give a fiscal year such as 2027.' in response.text
    assert 'id="file-error">Choose the CSV or XLSX file to import.' in response.text


def test_the_preview_shows_new_changed_unchanged_and_ignored_rows_and_changes_nothing(login_as, members):
    before = group_rows()
    response = upload(
        login_as("operations"),
        csv_file(
            "Economy,Code,Income group\n"
            "Kenya,KEN,Upper middle income\n"  # changed: lower-middle -> upper-middle
            "Ghana,GHA,Low income\n"  # unchanged
            "Senegal,SEN,Lower middle income\n"  # new (it only has a FY2026 group)
            "France,FRA,High income\n"  # not a member: ignored
            "World,WLD,\n"  # a total: skipped
        ),
    )

    page = response.text
    assert response.status_code == 200
    assert "Preview: income groups FY2027" in page and "groups.csv" in page
    assert (
        "1 new" in page and "1 changed" in page and "1 unchanged" in page and "1 not members, ignored" in page
    )
    changed = page.split('id="changed"', 1)[1].split("</section>", 1)[0]
    assert "Kenya" in changed and "<del>Lower-middle income</del>" in changed
    assert "<strong>Upper-middle income</strong>" in changed
    new = page.split('id="new"', 1)[1].split("</section>", 1)[0]
    assert "Senegal" in new and "Lower-middle income" in new
    assert "Ghana" in page.split('id="unchanged"', 1)[1].split("</details>", 1)[0]
    assert "France" in page.split('id="ignored"', 1)[1].split("</details>", 1)[0]
    assert "WLD" in page.split('id="skipped"', 1)[1].split("</details>", 1)[0]
    # Chile has no FY2027 group and is not in the file: it is named as still missing.
    assert "will still have none" in page and "Chile" in page.split('id="confirm"', 1)[1]
    assert "Confirm the import (2 changes)" in page
    assert group_rows() == before


def test_the_preview_warns_when_a_changed_member_is_already_invoiced(login_as, members, make_issued_invoice):
    make_issued_invoice(member=members["KE"], fiscal_year=FY, kind=InvoiceKind.ANNUAL_CONTRIBUTION)
    response = upload(login_as("operations"), csv_file("Code,Income group\nKEN,Low income\n"))
    assert "FY2027 invoice already issued: it keeps the old amount" in response.text


def test_confirming_applies_exactly_the_preview_and_audits_each_change(login_as, members):
    client = login_as("operations")
    preview = upload(
        client,
        xlsx_file(
            [
                ["Economy", "Code", "Income group"],
                ["Kenya", "KEN", "Upper middle income"],
                ["Ghana", "GHA", "Low income"],
                ["Senegal", "SEN", "Lower middle income"],
                ["France", "FRA", "High income"],
            ]
        ),
    )
    ghana_before = db.session.scalar(
        sa.select(MemberIncomeGroup).where(
            MemberIncomeGroup.member_id == members["GH"].id, MemberIncomeGroup.fiscal_year == FY
        )
    )

    response = client.post(CONFIRM_URL, data={"payload": payload_of(preview.text)}, follow_redirects=True)

    assert response.status_code == 200
    assert (
        "FY2027 income groups imported from CLASS.xlsx: 1 new, 1 changed, 1 unchanged. "
        "1 national member still has no group for FY2027." in response.text
    )
    assert group_of(members["KE"]) == IncomeGroup.UPPER_MIDDLE
    assert group_of(members["SN"]) == IncomeGroup.LOWER_MIDDLE
    assert group_of(members["SN"], PREVIOUS) == IncomeGroup.LOWER_MIDDLE
    assert group_of(members["GH"]) == IncomeGroup.LOW
    assert group_of(members["CL"]) is None
    entries = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.changes, AuditEntry.actor_id).where(
            AuditEntry.record_type == "MemberIncomeGroup", AuditEntry.actor_id == client.user.id
        )
    ).all()
    actions = sorted(
        (action, changes["income_group"][0], changes["income_group"][1]) for action, changes, _ in entries
    )
    assert actions == [("create", None, "lower_middle"), ("update", "lower_middle", "upper_middle")]
    # The unchanged row was not written at all.
    assert db.session.get(MemberIncomeGroup, ghana_before.id).income_group == IncomeGroup.LOW


def test_a_tampered_confirmation_is_refused_and_changes_nothing(app, login_as, members):
    client = login_as("operations")
    preview = upload(client, csv_file("Code,Income group\nKEN,High income\nSEN,High income\n"))
    payload = payload_of(preview.text)
    before = group_rows()

    tampered = payload[:-3] + ("AAA" if payload[-3:] != "AAA" else "BBB")
    forged = URLSafeTimedSerializer("not-our-secret", salt="tributary.income-group-import").dumps(
        {"fy": FY, "file": "x.csv", "rows": [[2, "CHL", "High income"]], "expect": []}
    )
    for bad in (tampered, forged, "", "not even a token"):
        response = client.post(CONFIRM_URL, data={"payload": bad}, follow_redirects=True)
        assert response.status_code == 200
        assert "Nothing was changed" in response.text
        assert group_rows() == before


def test_signed_rows_are_validated_again_on_confirmation(app, login_as, members):
    """Even data signed with our key is checked again: a bad group or a duplicate country is refused."""
    ours = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="tributary.income-group-import")
    before = group_rows()
    client = login_as("operations")
    for rows in (
        [[2, "CHL", "Very rich"]],
        [[2, "CHL", "High income"], [3, "CL", "Low income"]],
        [[2, "Atlantis", "High income"]],
        [],
    ):
        token = ours.dumps({"fy": FY, "file": "x.csv", "rows": rows, "expect": []})
        response = client.post(CONFIRM_URL, data={"payload": token}, follow_redirects=True)
        assert "This confirmation could not be verified" in response.text
    assert group_rows() == before


def test_a_preview_that_no_longer_holds_is_refused(login_as, members):
    client = login_as("operations")
    preview = upload(client, csv_file("Code,Income group\nCHL,High income\nKEN,Low income\n"))
    # Meanwhile someone records Chile's group on the member page.
    db.session.add(
        MemberIncomeGroup(member=members["CL"], fiscal_year=FY, income_group=IncomeGroup.UPPER_MIDDLE)
    )
    db.session.flush()
    before = group_rows()

    response = client.post(CONFIRM_URL, data={"payload": payload_of(preview.text)}, follow_redirects=True)

    assert "FY2027 income groups changed since this preview was made" in response.text
    assert group_rows() == before


def test_a_file_that_changes_nothing_offers_no_confirmation(login_as, members):
    response = upload(login_as("operations"), csv_file("Code,Income group\nKEN,Lower middle income\n"))
    assert "The file changes nothing" in response.text
    assert 'name="payload"' not in response.text


# --- Copy forward -------------------------------------------------------------------------------------------


def test_copy_forward_fills_only_members_without_a_group_and_never_overwrites(login_as, make_member):
    kept = make_member(name="Kenya", country_code="KE", income_group="high", fiscal_year=PREVIOUS)
    db.session.add(MemberIncomeGroup(member=kept, fiscal_year=FY, income_group=IncomeGroup.LOW))
    copied = make_member(name="Senegal", country_code="SN", income_group="lower_middle", fiscal_year=PREVIOUS)
    inactive = make_member(
        name="Ghana",
        country_code="GH",
        income_group="low",
        fiscal_year=PREVIOUS,
        status=MemberStatus.INACTIVE,
    )
    nothing_before = make_member(name="Chile", country_code="CL", income_group=None)
    make_member(kind="local", name="Nairobi County", country_code="KE")
    db.session.flush()
    client = login_as("operations")

    page = client.get(f"/contributions/income-groups/?fiscal_year={FY}").text
    assert "Carry FY2026 groups forward to FY2027 for the 2 members that have none" in page
    assert "data-confirm=" in page

    response = client.post(COPY_URL, data={"fiscal_year": str(FY)}, follow_redirects=True)

    assert (
        "Copied FY2026 groups to FY2027 for 2 members. 1 national member still has no group for FY2027."
        in (response.text)
    )
    assert group_of(kept) == IncomeGroup.LOW  # never overwritten
    assert group_of(copied) == IncomeGroup.LOWER_MIDDLE
    assert group_of(inactive) == IncomeGroup.LOW
    assert group_of(nothing_before) is None
    created = db.session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.record_type == "MemberIncomeGroup",
            AuditEntry.action == "create",
            AuditEntry.actor_id == client.user.id,
        )
    )
    assert created == 2

    again = client.post(COPY_URL, data={"fiscal_year": str(FY)}, follow_redirects=True)
    assert "Nothing to copy" in again.text
    assert group_of(kept) == IncomeGroup.LOW


def test_copy_forward_as_a_service_reports_what_it_did(make_member):
    make_member(country_code="SN", income_group="low", fiscal_year=PREVIOUS)
    make_member(country_code="CL", income_group=None)
    result = service.copy_forward(FY)
    assert (result.copied, result.still_missing) == (1, 1)
    assert service.copy_forward(FY).copied == 0


# --- The overview -------------------------------------------------------------------------------------------


def test_the_overview_shows_both_years_counts_and_who_is_missing(login_as, members, make_hub, make_member):
    other_hub = make_hub(name="Washington HQ", base_currency="USD", invoice_prefix="HQ")
    make_member(name="Peru", country_code="PE", income_group=None, hub=other_hub)
    db.session.add(
        MemberIncomeGroup(member=members["KE"], fiscal_year=PREVIOUS, income_group=IncomeGroup.LOW)
    )
    db.session.flush()
    client = login_as("board")

    page = client.get(f"/contributions/income-groups/?fiscal_year={FY}").text

    assert 'Income groups <small class="muted">FY2027</small>' in page
    assert "<th>FY2026</th><th>FY2027</th>" in page
    table = page.split("<tbody>", 1)[1]
    kenya_row = table.split(">Kenya</a>", 1)[1].split("</tr>", 1)[0]
    assert "Low income" in kenya_row and "Lower-middle income" in kenya_row and "changed" in kenya_row
    chile_row = table.split(">Chile</a>", 1)[1].split("</tr>", 1)[0]
    assert "Missing" in chile_row
    missing = page.split('id="no-group"', 1)[1].split("</section>", 1)[0]
    assert "3 national members without a group for FY2027" in missing
    assert all(name in missing for name in ("Chile", "Peru", "Senegal"))
    # The board reads it but is offered nothing to change.
    assert "Carry FY2026" not in page and "Import the World Bank file" not in page

    only_missing = client.get(f"/contributions/income-groups/?fiscal_year={FY}&missing=y").text
    table = only_missing.split("<tbody>", 1)[1]
    assert "Chile" in table and "Senegal" in table and "Kenya" not in table and "Ghana" not in table

    by_hub = client.get(f"/contributions/income-groups/?fiscal_year={FY}&hub={other_hub.id}").text
    table = by_hub.split("<tbody>", 1)[1]
    assert "Peru" in table and "Kenya" not in table


def test_the_year_counts_add_up(members, make_member):
    counts = service.year_counts(FY)
    assert counts.national == 4
    assert counts.by_group[IncomeGroup.LOWER_MIDDLE] == 1 and counts.by_group[IncomeGroup.LOW] == 1
    assert (counts.missing, counts.missing_active, counts.copyable) == (2, 2, 1)


def test_the_overview_opens_on_the_next_fiscal_year(login_as):
    from app.common.fiscal import current_fiscal_year

    page = login_as("operations").get("/contributions/income-groups/").text
    assert f"FY{current_fiscal_year() + 1}</small>" in page
    assert "No national members yet." in page


def test_a_bad_filter_shows_its_error_and_no_rows(login_as, members):
    response = login_as("operations").get("/contributions/income-groups/?fiscal_year=1999")
    assert response.status_code == 200
    assert "A year such as 2027." in response.text
    assert "No national member matches these filters." in response.text

    response = login_as("operations").get("/contributions/income-groups/?fiscal_year=2028&hub=abc")
    assert (
        "Not a valid choice." in response.text
        and "No national member matches these filters." in response.text
    )
    assert 'Income groups <small class="muted">FY2028</small>' in response.text


@contextmanager
def counting_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_the_overview_issues_a_constant_number_of_queries(login_as, make_member):
    client = login_as("board")
    for _ in range(3):
        make_member(income_group="high", fiscal_year=PREVIOUS)
        make_member(income_group=None)
    url = f"/contributions/income-groups/?fiscal_year={FY}"
    with counting_queries() as few:
        assert client.get(url).status_code == 200
    for _ in range(20):
        make_member(income_group="low", fiscal_year=PREVIOUS)
        make_member(income_group="low", fiscal_year=FY)
    with counting_queries() as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


# --- Permissions --------------------------------------------------------------------------------------------


def test_the_board_reads_the_overview_and_gets_403_on_every_change(login_as, members):
    board = login_as("board")
    before = group_rows()
    assert board.get(f"/contributions/income-groups/?fiscal_year={FY}").status_code == 200
    assert board.get(IMPORT_URL).status_code == 403
    assert board.post(COPY_URL, data={"fiscal_year": str(FY)}).status_code == 403
    assert upload(board, csv_file("Code,Income group\nCHL,High income\n")).status_code == 403

    operations = login_as("operations")
    preview = upload(operations, csv_file("Code,Income group\nCHL,High income\n"))
    assert board.post(CONFIRM_URL, data={"payload": payload_of(preview.text)}).status_code == 403
    assert group_rows() == before


def test_the_pages_link_to_the_income_groups(login_as, members):
    client = login_as("operations")
    assert 'href="/contributions/income-groups/"' in client.get("/contributions/members/").text
    overview = client.get("/contributions/").text
    assert ">Income groups</a>" in overview
    assert "/contributions/income-groups/?fiscal_year=" in overview and "missing=y" in overview
