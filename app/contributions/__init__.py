from flask import Blueprint

from .navigation import sections

bp = Blueprint("contributions", __name__)


@bp.app_context_processor
def inject_sections():
    return {"contribution_sections": sections}


from . import hub_uses, views  # noqa: E402, F401 - registering the area's hub uses and routes
