from flask import Blueprint

bp = Blueprint("contributions", __name__)


@bp.app_context_processor
def inject_sections():
    from .navigation import sections

    return {"contribution_sections": sections}


from . import views  # noqa: E402, F401
