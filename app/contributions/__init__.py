from flask import Blueprint

bp = Blueprint("contributions", __name__)

from . import views  # noqa: E402, F401
