"""Hub pages: the list, a hub's page with its checklist and documents, the hub form, checklist templates."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from schwifty import IBAN
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from ..auth.models import User
from ..auth.permissions import Permission, requires
from ..common.errors import DomainError, ValidationFailed
from ..common.forms import apply_field_errors
from ..common.pagination import paginate
from ..common.time import today
from ..extensions import db
from . import bp, services, uses
from .forms import (
    ChecklistItemForm,
    HubForm,
    ItemStatusForm,
    NewChecklistItemForm,
    SearchForm,
    StartChecklistForm,
    TemplateForm,
    TemplateItemForm,
    status_choices,
)
from .models import ChecklistTemplate, ChecklistTemplateItem, Hub, HubChecklist, HubChecklistItem, HubStatus
from .validation import country_name

# --- Lookups -----------------------------------------------------------------------------------------------


def _hub_or_404(hub_id: int) -> Hub:
    return db.session.get(Hub, hub_id) or abort(404)


def _item_or_404(hub: Hub, item_id: int) -> HubChecklistItem:
    item = db.session.get(HubChecklistItem, item_id)
    if item is None or hub.checklist is None or item.checklist_id != hub.checklist.id:
        abort(404)
    return item


def _template_or_404(template_id: int) -> ChecklistTemplate:
    return db.session.get(ChecklistTemplate, template_id) or abort(404)


def _template_item_or_404(template: ChecklistTemplate, item_id: int) -> ChecklistTemplateItem:
    item = db.session.get(ChecklistTemplateItem, item_id)
    if item is None or item.template_id != template.id:
        abort(404)
    return item


def _templates() -> list[ChecklistTemplate]:
    return list(db.session.scalars(sa.select(ChecklistTemplate).order_by(ChecklistTemplate.name)))


def _owners() -> list[User]:
    return list(
        db.session.scalars(sa.select(User).where(User.is_active_account.is_(True)).order_by(User.full_name))
    )


def _owner(user_id: str | None) -> User | None:
    return db.session.get(User, int(user_id)) if user_id else None


def invoice_url(invoice) -> str | None:
    """A link to the invoice page when the contributions area has one."""
    if "contributions.show_invoice" not in current_app.view_functions:
        return None
    try:
        return url_for("contributions.show_invoice", invoice_id=invoice.id)
    except BuildError:
        return None


def format_iban(value: str) -> str:
    """An IBAN in groups of four, as it prints."""
    try:
        return IBAN(value).formatted
    except ValueError:
        return value


@bp.context_processor
def _hub_helpers():
    return {"country_name": country_name, "format_iban": format_iban}


# --- Hubs --------------------------------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.HUBS_VIEW)
def list_hubs():
    form = SearchForm(request.args)
    status = form.status.data if form.validate() else None
    query = services.hub_query(form.q.data, status or None)
    page = paginate(query)
    progress = services.checklist_progress(hub.id for hub in page.items)
    return render_template("hubs/index.html", page=page, form=form, progress=progress)


def _details(form: HubForm) -> services.HubDetails:
    return services.HubDetails(
        name=form.name.data,
        kind=form.kind.data,
        status=form.status.data,
        opening_date=form.opening_date.data,
        legal_name=form.legal_name.data,
        street_address=form.street_address.data,
        postal_code=form.postal_code.data,
        city=form.city.data,
        country_code=form.country_code.data,
        registration_number=form.registration_number.data,
        vat_number=form.vat_number.data,
        base_currency=form.base_currency.data,
        invoice_prefix=form.invoice_prefix.data,
        payment_terms_days=form.payment_terms_days.data,
        bank_name=form.bank_name.data,
        iban=form.iban.data,
        bic=form.bic.data,
        account_number=form.account_number.data,
        routing_number=form.routing_number.data,
        tax_statement=form.texts("tax_statement"),
        legal_mentions=form.texts("legal_mentions"),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.HUBS_EDIT)
def new_hub():
    templates = _templates()
    form = HubForm(templates=templates)
    if request.method == "GET":
        form.kind.data = "hub_office"
        form.status.data = HubStatus.PLANNED.value
        if templates:
            form.checklist_template.data = str(templates[0].id)
    if form.validate_on_submit():
        chosen = form.checklist_template.data
        template = db.session.get(ChecklistTemplate, int(chosen)) if chosen else None
        try:
            hub = services.create_hub(_details(form), current_user, template=template)
            if form.logo_content:
                services.set_logo(hub, form.logo_content)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{hub.name} is added.", "success")
            return redirect(url_for("hubs.show_hub", hub_id=hub.id))
    status = 422 if form.errors else 200
    return render_template("hubs/form.html", form=form, hub=None), status


@bp.route("/<int:hub_id>")
@requires(Permission.HUBS_VIEW)
def show_hub(hub_id: int):
    hub = db.session.scalar(
        sa.select(Hub)
        .where(Hub.id == hub_id)
        .options(selectinload(Hub.checklist).selectinload(HubChecklist.items))
    ) or abort(404)
    progress = services.checklist_progress([hub.id]).get(hub.id, services.ChecklistProgress())
    documents = uses.issued_documents(hub)
    can_edit = current_user.can(Permission.HUBS_EDIT)
    return render_template(
        "hubs/show.html",
        hub=hub,
        progress=progress,
        documents=documents,
        invoice_url=invoice_url,
        locked=documents.invoice_count > 0 or documents.credit_note_count > 0,
        today=today(),
        status_choices=status_choices(),
        templates=_templates() if can_edit and hub.checklist is None else [],
        new_item_form=NewChecklistItemForm(users=_owners(), prefix="new") if can_edit else None,
    )


@bp.route("/<int:hub_id>/logo")
@requires(Permission.HUBS_VIEW)
def hub_logo(hub_id: int):
    hub = _hub_or_404(hub_id)
    if not hub.logo_bytes:
        abort(404)
    response = Response(hub.logo_bytes, mimetype=hub.logo_mime_type)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:hub_id>/edit", methods=["GET", "POST"])
@requires(Permission.HUBS_EDIT)
def edit_hub(hub_id: int):
    hub = _hub_or_404(hub_id)
    locked = uses.has_issued_documents(hub)
    form = HubForm(obj=hub, locked=locked)
    if request.method == "GET":
        form.kind.data = hub.kind.value
        form.status.data = hub.status.value
        form.fill_texts(hub)
    elif locked:
        # Disabled fields are not sent: keep what the hub has, but let a sent value reach the service's check.
        if not form.base_currency.raw_data:
            form.base_currency.data = hub.base_currency
        if not form.invoice_prefix.raw_data:
            form.invoice_prefix.data = hub.invoice_prefix
    if form.validate_on_submit():
        try:
            services.update_hub(hub, _details(form), current_user)
            if form.logo_content:
                services.set_logo(hub, form.logo_content)
            elif form.remove_logo.data:
                services.remove_logo(hub)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
            if isinstance(failed, services.HubHasIssuedDocuments):
                form.form_errors.append(str(failed))
        else:
            db.session.commit()
            flash(f"{hub.name} is saved.", "success")
            return redirect(url_for("hubs.show_hub", hub_id=hub.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("hubs/form.html", form=form, hub=hub, locked=locked), status


def _hub_action(hub_id: int, action, done: str):
    hub = _hub_or_404(hub_id)
    try:
        action(hub, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(done.format(name=hub.name), "success")
    return hub


@bp.route("/<int:hub_id>/close", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def close_hub(hub_id: int):
    _hub_action(hub_id, services.close_hub, "{name} is closed. Its issued documents stay as they are.")
    return redirect(url_for("hubs.show_hub", hub_id=hub_id))


@bp.route("/<int:hub_id>/default-issuer", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def make_default_issuer(hub_id: int):
    _hub_action(hub_id, services.make_default_issuer, "{name} is now the default issuer.")
    return redirect(url_for("hubs.show_hub", hub_id=hub_id))


@bp.route("/<int:hub_id>/delete", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def delete_hub(hub_id: int):
    hub = _hub_or_404(hub_id)
    name = hub.name
    try:
        services.delete_hub(hub, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hubs.show_hub", hub_id=hub_id))
    db.session.commit()
    flash(f"{name} is deleted.", "success")
    return redirect(url_for("hubs.list_hubs"))


# --- A hub's checklist -------------------------------------------------------------------------------------


def _back_to_checklist(hub_id: int, item_id: int | None = None):
    anchor = f"item-{item_id}" if item_id else "checklist"
    return redirect(url_for("hubs.show_hub", hub_id=hub_id, _anchor=anchor))


@bp.route("/<int:hub_id>/checklist", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def start_checklist(hub_id: int):
    hub = _hub_or_404(hub_id)
    form = StartChecklistForm(templates=_templates())
    if not form.validate_on_submit():
        flash("Choose a template to start the checklist from.", "error")
        return _back_to_checklist(hub_id)
    template = _template_or_404(int(form.template.data))
    try:
        services.start_checklist(hub, template, current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"The checklist of {hub.name} starts from “{template.name}”.", "success")
    return _back_to_checklist(hub_id)


@bp.route("/<int:hub_id>/checklist/items", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def add_checklist_item(hub_id: int):
    hub = _hub_or_404(hub_id)
    form = NewChecklistItemForm(users=_owners(), prefix="new")
    if form.validate_on_submit():
        try:
            item = services.add_checklist_item(
                hub, form.description.data, form.owner_role.data, _owner(form.owner.data), form.due_on.data
            )
        except ValidationFailed as failed:
            db.session.rollback()
            flash(str(failed), "error")
        else:
            db.session.commit()
            flash("Step added.", "success")
            return _back_to_checklist(hub_id, item.id)
    else:
        flash("The step was not added: " + _first_error(form), "error")
    return _back_to_checklist(hub_id)


def _first_error(form) -> str:
    for name, messages in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        return f"{label.text if label else name}: {' '.join(messages)}"
    return "please check the form."


@bp.route("/<int:hub_id>/checklist/items/<int:item_id>/status", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def update_item_status(hub_id: int, item_id: int):
    hub = _hub_or_404(hub_id)
    item = _item_or_404(hub, item_id)
    form = ItemStatusForm()
    if not form.validate_on_submit():
        flash("Choose a status from the list.", "error")
        return _back_to_checklist(hub_id, item_id)
    services.set_item_status(item, form.status.data)
    db.session.commit()
    flash(f"“{item.description}” is {item.status.label.lower()}.", "success")
    return _back_to_checklist(hub_id, item_id)


@bp.route("/<int:hub_id>/checklist/items/<int:item_id>", methods=["GET", "POST"])
@requires(Permission.HUBS_EDIT)
def edit_checklist_item(hub_id: int, item_id: int):
    hub = _hub_or_404(hub_id)
    item = _item_or_404(hub, item_id)
    form = ChecklistItemForm(obj=item, users=_owners())
    if request.method == "GET":
        form.owner.data = str(item.owner_id) if item.owner_id else ""
        form.status.data = item.status.value
    if form.validate_on_submit():
        try:
            services.update_checklist_item(
                item,
                description=form.description.data,
                owner_role=form.owner_role.data,
                owner=_owner(form.owner.data),
                due_on=form.due_on.data,
                status=form.status.data,
                notes=form.notes.data,
            )
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Step saved.", "success")
            return _back_to_checklist(hub_id, item_id)
    status = 422 if form.errors else 200
    return render_template("hubs/item_form.html", form=form, hub=hub, item=item), status


@bp.route("/<int:hub_id>/checklist/items/<int:item_id>/delete", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def delete_checklist_item(hub_id: int, item_id: int):
    hub = _hub_or_404(hub_id)
    item = _item_or_404(hub, item_id)
    description = item.description
    services.remove_checklist_item(item)
    db.session.commit()
    flash(f"“{description}” is removed from the checklist.", "success")
    return _back_to_checklist(hub_id)


@bp.route("/<int:hub_id>/checklist/save-as-template", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def save_checklist_as_template(hub_id: int):
    hub = _hub_or_404(hub_id)
    form = TemplateForm()
    if not form.validate_on_submit():
        flash("Give the new template a name.", "error")
        return _back_to_checklist(hub_id)
    try:
        template = services.save_checklist_as_template(
            hub, form.name.data, form.description.data, current_user
        )
    except DomainError as error:
        db.session.rollback()
        message = (
            error.field_errors.get("name", [str(error)])[0] if isinstance(error, ValidationFailed) else ""
        )
        flash(f"The template was not saved: {message or error}", "error")
        return _back_to_checklist(hub_id)
    db.session.commit()
    flash(f"Template “{template.name}” is saved with {len(template.items)} steps.", "success")
    return redirect(url_for("hubs.show_template", template_id=template.id))


# --- Templates ---------------------------------------------------------------------------------------------


@bp.route("/templates/")
@requires(Permission.HUBS_VIEW)
def list_templates():
    q = (request.args.get("q") or "").strip()
    page = paginate(services.template_query(q or None))
    return render_template("hubs/templates.html", page=page, q=q)


@bp.route("/templates/new", methods=["GET", "POST"])
@requires(Permission.HUBS_EDIT)
def new_template():
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            template = services.create_template(form.name.data, form.description.data, current_user)
        except ValidationFailed as failed:
            db.session.rollback()
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"Template “{template.name}” is created; add its steps.", "success")
            return redirect(url_for("hubs.show_template", template_id=template.id))
    status = 422 if form.errors else 200
    return render_template("hubs/template_form.html", form=form, template=None), status


def _render_template_page(template, form=None, item_form=None, status=200):
    can_edit = current_user.can(Permission.HUBS_EDIT)
    used_by = db.session.scalars(
        sa.select(Hub.name)
        .join(HubChecklist, HubChecklist.hub_id == Hub.id)
        .where(HubChecklist.source_template_id == template.id)
        .order_by(Hub.name)
    ).all()
    return render_template(
        "hubs/template.html",
        template=template,
        form=form or (TemplateForm(obj=template) if can_edit else None),
        item_form=item_form or (TemplateItemForm(formdata=None, prefix="step") if can_edit else None),
        used_by=used_by,
    ), status


@bp.route("/templates/<int:template_id>")
@requires(Permission.HUBS_VIEW)
def show_template(template_id: int):
    return _render_template_page(_template_or_404(template_id))


@bp.route("/templates/<int:template_id>/edit", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def edit_template(template_id: int):
    template = _template_or_404(template_id)
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            services.update_template(template, form.name.data, form.description.data)
        except ValidationFailed as failed:
            db.session.rollback()
            template = _template_or_404(template_id)
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Template saved.", "success")
            return redirect(url_for("hubs.show_template", template_id=template.id))
    return _render_template_page(template, form=form, status=422)


@bp.route("/templates/<int:template_id>/delete", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def delete_template(template_id: int):
    template = _template_or_404(template_id)
    name = template.name
    services.delete_template(template)
    db.session.commit()
    flash(f"Template “{name}” is deleted. Checklists made from it keep their steps.", "success")
    return redirect(url_for("hubs.list_templates"))


@bp.route("/templates/<int:template_id>/items", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def add_template_item(template_id: int):
    template = _template_or_404(template_id)
    form = TemplateItemForm(prefix="step")
    if form.validate_on_submit():
        services.add_template_item(template, form.description.data, form.default_owner_role.data)
        db.session.commit()
        flash("Step added.", "success")
        return redirect(url_for("hubs.show_template", template_id=template_id, _anchor="steps"))
    return _render_template_page(template, item_form=form, status=422)


@bp.route("/templates/<int:template_id>/items/<int:item_id>", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def update_template_item(template_id: int, item_id: int):
    template = _template_or_404(template_id)
    item = _template_item_or_404(template, item_id)
    form = TemplateItemForm()
    if form.validate_on_submit():
        services.update_template_item(item, form.description.data, form.default_owner_role.data)
        db.session.commit()
        flash(f"Step {item.position} saved.", "success")
    else:
        flash(f"Step {item.position} was not saved: " + _first_error(form), "error")
    return redirect(url_for("hubs.show_template", template_id=template_id, _anchor=f"step-{item_id}"))


@bp.route("/templates/<int:template_id>/items/<int:item_id>/move", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def move_template_item(template_id: int, item_id: int):
    template = _template_or_404(template_id)
    item = _template_item_or_404(template, item_id)
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    services.move_template_item(item, offset)
    db.session.commit()
    return redirect(url_for("hubs.show_template", template_id=template_id, _anchor=f"step-{item_id}"))


@bp.route("/templates/<int:template_id>/items/<int:item_id>/delete", methods=["POST"])
@requires(Permission.HUBS_EDIT)
def delete_template_item(template_id: int, item_id: int):
    template = _template_or_404(template_id)
    item = _template_item_or_404(template, item_id)
    description = item.description
    services.remove_template_item(item)
    db.session.commit()
    flash(f"“{description}” is removed from the template.", "success")
    return redirect(url_for("hubs.show_template", template_id=template_id, _anchor="steps"))
