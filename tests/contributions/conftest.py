"""Fixtures of the contribution tests; the builders (make_member, make_issued_invoice...) are in
tests/builders/contributions.py, loaded for every test directory."""

# Stripe in tests: the fake Stripe API and the fixture that switches online payment on (see stripe_fakes.py).
from .stripe_fakes import stripe_api, stripe_keys  # noqa: F401
