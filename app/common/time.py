"""Clock helpers: timestamps are timezone-aware UTC everywhere."""

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; treat them as the UTC they were stored as."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
