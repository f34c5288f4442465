import sqlalchemy as sa
from flask import jsonify, render_template

from ..auth.permissions import Permission, public, requires
from ..common.panels import dashboard_panels
from ..extensions import db
from . import bp


@bp.route("/")
@requires(Permission.DASHBOARD_VIEW)
def dashboard():
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
