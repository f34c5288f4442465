from flask import render_template

from ...auth.permissions import Permission, requires
from .. import bp


@bp.route("/")
@requires(Permission.CONTRIBUTIONS_VIEW)
def index():
    return render_template("contributions/index.html")
