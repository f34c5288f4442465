"""Configuration classes. Everything secret or per-site comes from the environment (or a `.env` file)."""

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TRIBUTARY_INSTANCE_PATH", BASE_DIR / "instance"))
load_dotenv(BASE_DIR / ".env")


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = (
        os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'tributary.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    #: Strict-Transport-Security is only sent when the site is served over HTTPS in production.
    HSTS_ENABLED = _bool("HSTS_ENABLED", False)
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    #: Absolute base URL used in documents and e-mails (pay links), e.g. https://crm.example.org
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    #: No upload is larger than a few MB (logos 1 MB, income-group files 2 MB); refuse bigger bodies up front.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
    #: A donor import's confirmation carries its file (signed) and one choice per duplicate row: up to the
    #: body's limit and 10,000 rows (Werkzeug's defaults, 500 KB and 1,000 fields, are for ordinary forms).
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH
    MAX_FORM_PARTS = 12_000

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    DOCUMENT_LANGUAGES = ("en", "fr", "es")

    #: Month (1-12) in which the fiscal year starts; a fiscal year is named by the calendar year it ends in.
    FISCAL_YEAR_START_MONTH = _int("FISCAL_YEAR_START_MONTH", 1)
    #: Reporting currency for plans, policy and board figures.
    REPORTING_CURRENCY = os.environ.get("REPORTING_CURRENCY", "USD")

    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 15)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Tributary <noreply@example.org>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 30)

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    #: Only for tests and local fakes: where the Stripe API lives.
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")

    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password")
    ITEMS_PER_PAGE = _int("ITEMS_PER_PAGE", 50)


class DevelopmentConfig(Config):
    DEBUG = _bool("FLASK_DEBUG", False)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = _bool("HSTS_ENABLED", True)
    PREFERRED_URL_SCHEME = "https"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    MAIL_SERVER = ""
    STRIPE_SECRET_KEY = ""
    STRIPE_PUBLISHABLE_KEY = ""
    STRIPE_WEBHOOK_SECRET = ""
    DEMO_PASSWORD = "demo-password"
    PUBLIC_BASE_URL = "http://localhost"
    #: Argon2 parameters are lowered in tests only, so that hashing does not dominate the suite.
    PASSWORD_HASH_FAST = True


CONFIGS = {"development": DevelopmentConfig, "production": ProductionConfig, "testing": TestConfig}


def config_from_environment() -> type[Config]:
    return CONFIGS.get(os.environ.get("TRIBUTARY_ENV", "development"), DevelopmentConfig)
