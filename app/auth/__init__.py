from flask import Blueprint
from flask_login import current_user

from .permissions import Permission

bp = Blueprint("auth", __name__)
bp.add_app_template_global(Permission, "Permission")


@bp.app_context_processor
def inject_permissions():
    """`{% if can('contributions.edit') %}` in every template."""

    def can(permission) -> bool:
        return bool(current_user.is_authenticated and current_user.can(Permission(permission)))

    return {"can": can}


from . import views  # noqa: E402, F401
