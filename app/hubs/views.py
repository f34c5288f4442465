from flask import render_template

from ..auth.permissions import Permission, requires
from . import bp


@bp.route("/")
@requires(Permission.HUBS_VIEW)
def list_hubs():
    return render_template("hubs/index.html")
