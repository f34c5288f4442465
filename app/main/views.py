import sqlalchemy as sa
from flask import jsonify, render_template
from flask_login import current_user

from ..auth.permissions import Permission, Role, public, requires
from ..common.panels import dashboard_panels
from ..extensions import db
from ..pipeline.views.board import render_board_dashboard
from . import bp


@bp.route("/")
@requires(Permission.DASHBOARD_VIEW)
def dashboard():
    # The board lands on its dashboard, with the areas' panels below it; everyone else reads the dashboard
    # from the pipeline area.
    if current_user.role == Role.BOARD:
        return render_board_dashboard(panels=dashboard_panels())
    return render_template("main/dashboard.html", panels=dashboard_panels())


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means the database part is down
        db.session.rollback()
        return jsonify({"status": "error", "database": f"error: {type(error).__name__}"}), 503
    return jsonify({"status": "ok", "database": "ok"})
