"""Importing organisations or contacts: upload, map the columns, preview with the duplicates, confirm.

The rules are in app/donors/imports.py; the file travels signed between the steps (the process keeps nothing).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...auth.permissions import Permission, requires
from ...common.errors import ValidationFailed
from ...common.exports import csv_response
from ...common.forms import apply_field_errors
from ...common.imports import ImportRejected, PreviewTokenInvalid, read_upload
from ...extensions import db
from .. import bp
from .. import imports as service
from ..forms import ImportConfirmForm, ImportMappingForm, ImportUploadForm


def _kind_arg() -> str:
    kind = request.args.get("kind", "")
    return kind if kind in service.KINDS else service.ORGANISATIONS


def _upload_page(form: ImportUploadForm, problems=(), status: int = 200):
    return render_template(
        "donors/imports/upload.html",
        form=form,
        problems=list(problems),
        columns={kind: service.columns(kind) for kind in service.KINDS},
        hints=service.HINTS,
        max_records=service.MAX_RECORDS,
    ), status


def _mapping_page(signed: service.SignedFile, table, header, problems=(), status: int = 200):
    form = ImportMappingForm(formdata=None)
    form.file_token.data = service.sign_file(signed.kind, signed.filename, signed.content)
    form.header_row.data = header.row
    samples = [row for row in table.rows if row.number > header.row and not row.is_blank][:3]
    return render_template(
        "donors/imports/mapping.html",
        form=form,
        kind=signed.kind,
        filename=signed.filename,
        header=header,
        columns=service.columns(signed.kind),
        samples=samples,
        hints=service.HINTS,
        problems=list(problems),
    ), status


def _preview_page(signed: service.SignedFile, preview: service.ImportPreview, notice: str | None = None):
    form = ImportMappingForm(formdata=None)
    form.file_token.data = service.sign_file(signed.kind, signed.filename, signed.content)
    form.header_row.data = preview.header.row
    confirm_form = ImportConfirmForm(formdata=None, payload=service.confirm_token(preview, signed.content))
    return render_template(
        "donors/imports/preview.html",
        preview=preview,
        kind=signed.kind,
        mapping_form=form,
        confirm_form=confirm_form,
        columns=service.columns(signed.kind),
        listed_new=service.LISTED_NEW_ROWS,
        notice=notice,
    )


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.DONORS_EDIT)
def import_upload():
    form = ImportUploadForm()
    if request.method == "GET":
        form.kind.data = _kind_arg()
        return _upload_page(form)
    if not form.validate_on_submit():
        return _upload_page(form, status=422)
    filename, content = read_upload(form.file.data, service.MAX_UPLOAD_BYTES)
    try:
        table = service.read_file(filename, content)
    except ImportRejected as rejected:
        apply_field_errors(form, {"file": [rejected.problems[0].message]})
        return _upload_page(form, rejected.problems, 422)
    signed = service.SignedFile(form.kind.data, filename, content)
    return _mapping_page(signed, table, service.guess_header(signed.kind, table))


def _chosen_mapping(kind: str) -> dict[str, int | None]:
    mapping = {}
    for column in service.columns(kind):
        chosen = request.form.get(f"column-{column.key}", "")
        mapping[column.key] = int(chosen) if chosen.isdigit() and len(chosen) < 4 else None
    return mapping


def _start_again(message: str):
    flash(message, "error")
    return redirect(url_for("donors.import_upload"))


@bp.route("/import/preview", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def import_preview():
    form = ImportMappingForm()
    try:
        signed = service.read_signed_file(form.file_token.data)
        table = service.read_file(signed.filename, signed.content)
    except (PreviewTokenInvalid, ImportRejected) as invalid:
        return _start_again(str(invalid))
    guessed = service.guess_header(signed.kind, table)
    if not form.validate():
        return _mapping_page(signed, table, guessed, [], 422)
    row = table.row(form.header_row.data)
    if request.form.get("shown_header_row") != str(form.header_row.data) and row and not row.is_blank:
        # Another header row than the page showed: its cells are matched again.
        return _mapping_page(signed, table, service.guess_header(signed.kind, table, row.number))
    try:
        header = service.chosen_header(signed.kind, table, form.header_row.data, _chosen_mapping(signed.kind))
    except ImportRejected as rejected:
        return _mapping_page(signed, table, guessed, rejected.problems, 422)
    if request.form.get("step") == "columns":  # back from the preview to change the columns
        return _mapping_page(signed, table, header)
    try:
        preview = service.build_preview(signed.kind, signed.filename, table, header)
    except ImportRejected as rejected:
        return _mapping_page(signed, table, header, rejected.problems, 422)
    return _preview_page(signed, preview)


@bp.route("/import/confirm", methods=["POST"])
@requires(Permission.DONORS_EDIT)
def import_confirm():
    form = ImportConfirmForm()
    try:
        signed, preview = service.preview_from_token(form.payload.data)
    except PreviewTokenInvalid as invalid:
        return _start_again(str(invalid))
    except ImportRejected as rejected:  # the file was fine at the preview: what it names changed since
        return _start_again(f"{rejected} Records changed since the preview: upload the file again.")
    try:
        result = service.apply_preview(signed, preview, request.form, current_user._get_current_object())
    except (service.PreviewOutOfDate, ValidationFailed) as refused:
        db.session.rollback()
        signed, preview = service.preview_from_token(form.payload.data)
        status = 409 if isinstance(refused, service.PreviewOutOfDate) else 422
        return _preview_page(signed.file, preview, notice=str(refused)), status
    db.session.commit()
    flash(result.summary(), "success")
    return redirect(url_for("donors.list_organisations"))


@bp.route("/import/template.csv")
@requires(Permission.DONORS_EDIT)
def import_template():
    kind = _kind_arg()
    return csv_response(service.template_rows(kind), f"tributary-{kind}-import.csv")
