"""Tributary: create_app() as a list of small named steps."""

from pathlib import Path

from flask import Flask

from config import INSTANCE_DIR, Config, config_from_environment

# `models` imports every models module, so that metadata is complete for create_all() and Alembic.
from . import models  # noqa: F401
from .admin import bp as admin_bp
from .auth import bp as auth_bp
from .auth.cli import users_cli
from .bench_cli import bench_cli
from .common import audit, errors, filters, mail, postgres, request_guards, search, security, sqlite, urls
from .common.forms import share_wtforms_translations
from .common.mail_cli import mail_cli
from .common.translations import compile_stale_catalogues
from .contributions import bp as contributions_bp
from .contributions.cli import contributions_cli
from .contributions.views.pay_page import public_bp
from .contributions.views.stripe_webhook import stripe_bp
from .donors import bp as donors_bp
from .donors import search as donor_search  # noqa: F401 - registers the donors' searched tables
from .extensions import babel, csrf, db, login_manager, migrate
from .hubs import bp as hubs_bp
from .main import bp as main_bp
from .pipeline import bp as pipeline_bp
from .seed import seed_demo_command


def create_app(config_class: type[Config] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder="../templates",
        instance_path=str(INSTANCE_DIR),
        instance_relative_config=True,
    )
    app.config.from_object(config_class or config_from_environment())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    register_extensions(app)
    register_models(app)
    register_url_converters(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_security(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_ui_locale)
    app.before_request(share_wtforms_translations)
    compile_stale_catalogues(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    with app.app_context():
        sqlite.configure(db.engine)
        postgres.configure(db.engine)


def _ui_locale() -> str:
    # The interface speaks English; documents choose their own language with force_locale().
    return "en"


def register_models(app: Flask) -> None:
    audit.install_listeners(db)
    search.install(db.metadata)


def register_url_converters(app: Flask) -> None:
    # Before the blueprints: their rules take the converters in place when they are added.
    urls.install(app)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(donors_bp, url_prefix="/donors")
    app.register_blueprint(pipeline_bp, url_prefix="/pipeline")
    app.register_blueprint(contributions_bp, url_prefix="/contributions")
    app.register_blueprint(hubs_bp, url_prefix="/hubs")
    app.register_blueprint(public_bp)
    app.register_blueprint(stripe_bp, url_prefix="/stripe")


def register_template_helpers(app: Flask) -> None:
    filters.register(app)
    app.add_template_global(mail.new_send_token, "new_send_token")
    app.add_template_global(mail.SEND_TOKEN_FIELD, "SEND_TOKEN_FIELD")


def register_security(app: Flask) -> None:
    security.register(app)
    request_guards.register(app)


def register_errorhandlers(app: Flask) -> None:
    errors.register(app)


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(contributions_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(bench_cli)
