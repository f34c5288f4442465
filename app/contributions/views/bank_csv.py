"""Importing a bank CSV export: upload, preview with the column mapping, confirm."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.imports import ImportRejected, PreviewSigner, PreviewTokenInvalid, read_upload
from ...extensions import db
from ...hubs.models import Hub
from .. import bp
from ..forms.bank import CsvConfirmForm, CsvMappingForm, CsvUploadForm
from ..services import bank_csv, bank_import
from ..services.bank_statements import StatementRefused
from .bank import commit_import, nothing_imported

#: The uploaded file travels signed between the preview and a new mapping, so the process keeps nothing.
FILE_SIGNER = PreviewSigner("tributary.bank-csv-file")


def _hubs() -> list[Hub]:
    hubs = db.session.scalars(sa.select(Hub).order_by(Hub.name)).all()
    return [hub for hub in hubs if hub.iban or hub.account_number]


def _upload_page(form: CsvUploadForm, problems=None, status: int = 200):
    return render_template("contributions/bank/csv_upload.html", form=form, problems=problems or []), status


@bp.route("/bank/csv")
@requires(Permission.CONTRIBUTIONS_EDIT)
def new_bank_csv_import():
    return _upload_page(CsvUploadForm(_hubs()))[0]


def _preview_page(hub: Hub, filename: str, content: bytes, mapping=None, header_row=None, date_order=None):
    try:
        preview = bank_csv.read_statement_csv(
            hub, filename, content, mapping=mapping, header_row=header_row, date_order=date_order
        )
    except ImportRejected as rejected:
        return None, rejected
    mapping_form = CsvMappingForm(formdata=None)
    mapping_form.file_token.data = FILE_SIGNER.sign(
        {"hub_id": hub.id, "filename": filename, "content": base64.b64encode(content).decode()}
    )
    mapping_form.header_row.data = preview.header.row
    mapping_form.date_order.data = preview.date_order
    confirm_form = None
    if not preview.problems:
        confirm_form = CsvConfirmForm(formdata=None)
        confirm_form.payload.data = bank_csv.sign_preview(hub, preview, content)
    page = render_template(
        "contributions/bank/csv_preview.html",
        hub=hub,
        preview=preview,
        columns=bank_csv.COLUMNS,
        mapping_form=mapping_form,
        confirm_form=confirm_form,
        credits=[entry for entry in preview.entries if entry.is_credit],
    )
    return (page, 422 if preview.problems else 200), None


@bp.route("/bank/csv", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def preview_bank_csv_import():
    form = CsvUploadForm(_hubs())
    if not form.validate_on_submit():
        return _upload_page(form, status=422)
    hub = db.session.get(Hub, int(form.hub.data))
    filename, content = read_upload(form.file.data, bank_csv.MAX_CSV_BYTES)
    answer, rejected = _preview_page(hub, filename, content)
    if rejected is not None:
        return _upload_page(form, rejected.problems, 422)
    return answer


@bp.route("/bank/csv/mapping", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def remap_bank_csv_import():
    form = CsvMappingForm()
    if not form.validate_on_submit():
        flash("The preview had expired or was changed; upload the file again.", "error")
        return redirect(url_for("contributions.new_bank_csv_import"))
    try:
        data = FILE_SIGNER.read(form.file_token.data)
        hub = db.session.get(Hub, int(data["hub_id"])) or abort(404)
        content = base64.b64decode(data["content"])
        filename = str(data["filename"])
    except (PreviewTokenInvalid, KeyError, TypeError, ValueError):
        flash("The preview had expired or was changed; upload the file again.", "error")
        return redirect(url_for("contributions.new_bank_csv_import"))
    mapping = {}
    for column in bank_csv.COLUMNS:
        chosen = request.form.get(f"column-{column.key}", "")
        mapping[column.key] = int(chosen) if chosen.isdigit() else None
    answer, rejected = _preview_page(
        hub,
        filename,
        content,
        mapping=mapping,
        header_row=form.header_row.data,
        date_order=form.date_order.data,
    )
    if rejected is not None:
        upload = CsvUploadForm(_hubs(), formdata=None)
        upload.hub.data = str(hub.id)
        return _upload_page(upload, rejected.problems, 422)
    return answer


@bp.route("/bank/csv/confirm", methods=["POST"])
@requires(Permission.CONTRIBUTIONS_EDIT)
def confirm_bank_csv_import():
    form = CsvConfirmForm()
    try:
        if not form.validate_on_submit():
            raise bank_csv.SIGNER.refused()
        signed = bank_csv.read_signed_preview(form.payload.data, lambda hub_id: db.session.get(Hub, hub_id))
        result = bank_import.store_statement(
            signed.statement,
            None,
            signed.filename,
            current_user._get_current_object(),
            file_sha256=signed.sha256,
        )
    except (PreviewTokenInvalid, StatementRefused) as refused:
        db.session.rollback()
        flash(f"Nothing was imported: {refused}", "error")
        return redirect(url_for("contributions.new_bank_csv_import"))
    except (bank_import.StatementAlreadyImported, bank_import.NothingNewInStatement) as nothing:
        return nothing_imported(nothing)
    return commit_import(result)
