from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..common.errors import ValidationFailed
from ..common.forms import apply_field_errors
from ..extensions import db, login_manager
from . import bp, services
from .forms import ChangePasswordForm, LoginForm
from .models import User
from .permissions import Permission, public, requires

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.is_active_account else None


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL in ?next= would make the login page an open redirect.
    if target and not urlsplit(target).netloc and not urlsplit(target).scheme and target.startswith("/"):
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data,
                form.password.data,
                current_app.config["LOGIN_MAX_FAILURES"],
                current_app.config["LOGIN_LOCK_MINUTES"],
            )
        except services.LoginRefused as refused:
            db.session.commit()  # keep the failure count
            error = str(refused)
        else:
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


logout.required_permission = None  # any signed-in user may sign out


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Permission.ACCOUNT_EDIT)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except ValidationFailed as failed:
            apply_field_errors(form, failed.field_errors)
        else:
            db.session.commit()
            flash("Your password is changed.", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/change_password.html", form=form)
