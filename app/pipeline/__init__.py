from flask import Blueprint

bp = Blueprint("pipeline", __name__)

from . import panels, views  # noqa: E402, F401
