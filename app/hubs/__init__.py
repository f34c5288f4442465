from flask import Blueprint

bp = Blueprint("hubs", __name__)

from . import views  # noqa: E402, F401
