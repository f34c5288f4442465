from flask import Blueprint

bp = Blueprint("hubs", __name__)

from . import dashboard, views  # noqa: E402, F401
