"""Password hashing with argon2id (argon2-cffi; OWASP's recommended parameters)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_production_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Tests only: the same algorithm with small parameters, so a suite of hundreds of logins stays quick.
_test_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

MIN_PASSWORD_LENGTH = 12


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return _test_hasher
    return _production_hasher


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: dict[bool, str] = {}


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check, so that unknown accounts cannot be told apart by timing."""
    fast = bool(has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"))
    if fast not in _DUMMY_HASH:
        _DUMMY_HASH[fast] = _hasher().hash("not-a-real-password")
    verify_password(_DUMMY_HASH[fast], password)
