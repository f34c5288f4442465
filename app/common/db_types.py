"""Column types every area shares."""

import enum

import sqlalchemy as sa

#: Money amounts: 14 digits, 2 decimals; always stored beside a currency column.
MONEY = sa.Numeric(14, 2)
#: Exchange rates: units of the target currency for one unit of the source currency.
RATE = sa.Numeric(18, 8)


def enum_column(enum_class: type[enum.Enum], length: int = 30) -> sa.Enum:
    """A portable enum stored as its value in a VARCHAR with a CHECK constraint."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        create_constraint=True,
        name=enum_class.__name__.lower(),
        values_callable=lambda members: [member.value for member in members],
    )
