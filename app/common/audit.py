"""The audit log: a session hook records every create, update and delete of audited models.

A model opts in with `__audited__ = True` (and may hide columns with `__audit_exclude__`).
Who acted comes from `flask_login.current_user` during a request, or from `acting_as()` in the CLI
and in background work. Rows are written in the same transaction as the change, so a change and its
audit entry land or fail together.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import enum
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from .search import keep_search_text, search_text_for
from .time import utcnow

_actor: contextvars.ContextVar[tuple[int | None, str] | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.Index("ix_audit_entries_record", "record_type", "record_id"),
        # The log's order (newest first), alone and after the type and user filters (admin/services.py).
        sa.Index("ix_audit_entries_list_order", "at", "id"),
        sa.Index("ix_audit_entries_type_list_order", "record_type", "at", "id"),
        sa.Index("ix_audit_entries_actor_list_order", "actor_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: Kept as text too, so that the entry still says who it was if the user row is ever gone.
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(10))  # create, update, delete
    record_type: Mapped[str] = mapped_column(sa.String(60))
    record_id: Mapped[str] = mapped_column(sa.String(40))
    record_label: Mapped[str] = mapped_column(sa.String(200), default="")
    #: search_text_for(record_type, record_id, record_label): what the log's text search matches (indexed).
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: {field: [old, new]} with values as JSON-friendly text.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = db.relationship("User", lazy="joined")


keep_search_text(AuditEntry, lambda entry: (entry.record_type, entry.record_id, entry.record_label))


class AuditLogIsAppendOnly(Exception):
    """Audit entries are never edited or deleted by the application."""


@contextmanager
def acting_as(user=None, label: str | None = None):
    """Attribute changes made inside the block to this user (or to a label such as 'cli' or 'stripe')."""
    token = _actor.set((getattr(user, "id", None), label or (user.email if user is not None else "system")))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    """(user id, label) of whoever is acting now: the `acting_as()` block's, else the signed-in user's, else
    (None, "system"). For records that say who did something, as the audit log does."""
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    try:
        from flask import has_request_context
        from flask_login import current_user

        if has_request_context() and current_user and current_user.is_authenticated:
            return current_user.id, current_user.email
    except Exception:  # noqa: BLE001 - outside Flask there is simply no user
        pass
    return None, "system"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, dict | list):
        return value
    return str(value)


def _columns(obj) -> list:
    excluded = getattr(obj, "__audit_exclude__", set())
    return [attr for attr in inspect(obj).mapper.column_attrs if attr.key not in excluded]


def _label(obj) -> str:
    try:
        return str(obj)[:200]
    except Exception:  # noqa: BLE001 - a label is a courtesy, never a reason to fail a change
        return ""


def _record_id(obj) -> str:
    # New rows have their key on the instance, though not yet in the identity map.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key if part is not None)


def _collect(session: Session) -> list[dict]:
    rows = []
    for obj in session.new:
        if getattr(obj, "__audited__", False):
            changes = {a.key: [None, _plain(getattr(obj, a.key))] for a in _columns(obj)}
            rows.append(("create", obj, changes))
    for obj in session.dirty:
        if not getattr(obj, "__audited__", False) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        changes = {}
        for attr in _columns(obj):
            history = state.attrs[attr.key].history
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                if _plain(old) != _plain(new):
                    changes[attr.key] = [_plain(old), _plain(new)]
        if changes:
            rows.append(("update", obj, changes))
    for obj in session.deleted:
        if getattr(obj, "__audited__", False):
            changes = {a.key: [_plain(getattr(obj, a.key)), None] for a in _columns(obj)}
            rows.append(("delete", obj, changes))
    return rows


def install_listeners(database) -> None:
    """Hook the audit log into the Session class (idempotent)."""
    if getattr(database, "_audit_installed", False):
        return
    database._audit_installed = True

    @event.listens_for(Session, "before_flush")
    def refuse_audit_changes(session, flush_context, instances):
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
                raise AuditLogIsAppendOnly("Audit entries cannot be changed or deleted.")

    # In after_flush, new/dirty/deleted and attribute history still describe the flush just done,
    # and new rows have their primary keys.
    @event.listens_for(Session, "after_flush")
    def write_audit_entries(session, flush_context):
        actor_id, actor_label = current_actor()
        now = utcnow()
        entries = []
        for action, obj, changes in _collect(session):
            record = (type(obj).__name__, _record_id(obj), _label(obj))
            entries.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor_label": actor_label[:254],
                    "action": action,
                    "record_type": record[0],
                    "record_id": record[1],
                    "record_label": record[2],
                    "search_text": search_text_for(*record),
                    "changes": changes,
                }
            )
        if entries:
            session.connection().execute(sa.insert(AuditEntry.__table__), entries)
