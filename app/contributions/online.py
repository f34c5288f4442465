"""Public blueprints of the contributions area: the pay page (/pay/<token>) and the Stripe webhook."""

from flask import Blueprint

public_bp = Blueprint("public", __name__)
stripe_bp = Blueprint("stripe", __name__)
