"""The pipeline area's landing page."""

from flask import render_template

from ...auth.permissions import Permission, requires
from .. import bp


@bp.route("/")
@requires(Permission.PIPELINE_VIEW)
def index():
    return render_template("pipeline/index.html")
