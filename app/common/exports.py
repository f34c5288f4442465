"""Streaming CSV downloads: rows are written and sent while they are read, so memory stays flat whatever the
number of rows (read them with `yield_per`, in batches, never as one list)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response, stream_with_context

#: Rows written before a piece of the file is sent: small enough to keep memory flat, large enough to keep
#: the number of pieces (and their overhead) low.
ROWS_PER_CHUNK = 500


def csv_response(rows: Iterable[Sequence], disposition: str) -> Response:
    """A text/csv response that streams `rows` (a lazy iterable, read inside the request's context)."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for number, row in enumerate(rows, start=1):
            writer.writerow(row)
            if number % ROWS_PER_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate(0)
        if buffer.tell():
            yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": disposition},
    )
