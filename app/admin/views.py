import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for

from ..auth import services as auth_services
from ..auth.forms import SetPasswordForm, UserCreateForm, UserEditForm
from ..auth.models import User
from ..auth.permissions import Permission, requires
from ..common.errors import DomainError, ValidationFailed
from ..common.forms import apply_field_errors
from ..common.pagination import paginate
from ..extensions import db
from . import bp, services
from .forms import AuditFilterForm


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.route("/")
@requires(Permission.USERS_MANAGE)
def index():
    return redirect(url_for("admin.list_users"))


@bp.route("/users")
@requires(Permission.USERS_MANAGE)
def list_users():
    query = sa.select(User).order_by(User.is_active_account.desc(), User.full_name)
    page = paginate(query)
    return render_template("admin/users.html", page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = auth_services.create_user(
                form.email.data, form.full_name.data, form.role.data, form.password.data
            )
        except ValidationFailed as failed:
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash(f"{user.full_name} can now sign in as {user.role.label}.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def edit_user(user_id: int):
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user, data={"role": user.role.value} if request.method == "GET" else None)
    password_form = SetPasswordForm(prefix="pw")
    if form.validate_on_submit():
        try:
            auth_services.update_user(user, form.full_name.data, form.role.data)
        except DomainError as error:
            db.session.rollback()
            form.role.errors = [str(error)]
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form, user=user, password_form=password_form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def set_user_password(user_id: int):
    user = _user_or_404(user_id)
    password_form = SetPasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        try:
            auth_services.set_password(user, password_form.password.data)
        except ValidationFailed as failed:
            apply_field_errors(
                password_form, {"password": failed.field_errors.get("password", [str(failed)])}
            )
        else:
            db.session.commit()
            flash(f"New password set for {user.full_name}; the account is unlocked.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    form = UserEditForm(obj=user, data={"role": user.role.value})
    return render_template("admin/user_form.html", form=form, user=user, password_form=password_form), 422


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires(Permission.USERS_MANAGE)
def set_user_active(user_id: int):
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        auth_services.set_active(user, active)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"{user.full_name} is {'active again' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.list_users"))


@bp.route("/audit")
@requires(Permission.AUDIT_VIEW)
def audit_log():
    form = AuditFilterForm(services.users_by_name(), services.audited_record_types(), request.args)
    filters = {"nothing": True}  # a filter that does not validate shows its error and no rows
    if form.validate():
        filters = {
            "user_id": int(form.user.data) if form.user.data else None,
            "record_type": form.record_type.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
            "text": form.q.data or None,
        }
    page = paginate(services.audit_query(**filters))
    return render_template("admin/audit.html", form=form, page=page)
