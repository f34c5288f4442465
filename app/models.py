"""Imports every area's models so that the metadata is whole (create_all, Alembic, the audit hooks)."""

from .auth.models import User  # noqa: F401
from .common.audit import AuditEntry  # noqa: F401
from .common.mail import MailMessage  # noqa: F401
from .contributions import funders as contributions_funders  # noqa: F401
from .contributions import models as contributions_models  # noqa: F401
from .contributions import totals as contributions_totals  # noqa: F401
from .donors import models as donors_models  # noqa: F401
from .hubs import models as hubs_models  # noqa: F401
from .pipeline import forecast_totals as pipeline_forecast_totals  # noqa: F401
from .pipeline import models as pipeline_models  # noqa: F401
from .pipeline import plan_totals as pipeline_plan_totals  # noqa: F401
