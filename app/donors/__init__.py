from flask import Blueprint

bp = Blueprint("donors", __name__)

from . import views  # noqa: E402, F401
