"""Document catalogues: compile a `.po` file to its `.mo` when the compiled one is missing or older.

Flask-Babel only reads compiled catalogues. An invoice is rendered once and frozen, so an invoice issued while
the French catalogue was not compiled would stay in English for ever; compiling at start-up closes that gap
(`make` and the deployment steps compile too, and a read-only tree only gets a warning).
"""

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)


def compile_stale_catalogues(directory: str | Path) -> list[Path]:
    """Compile every catalogue under `directory` whose .mo is missing or older than its .po; return them."""
    compiled = []
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=po_path.parent.parent.name)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
        except OSError as error:
            log.warning("Could not compile %s (%s): run `pybabel compile -d translations`", po_path, error)
            continue
        compiled.append(mo_path)
    return compiled


def missing_catalogues(directory: str | Path, languages) -> list[str]:
    """Document languages other than English that have no compiled catalogue."""
    return [
        language
        for language in languages
        if language != "en" and not any(Path(directory).glob(f"{language}/LC_MESSAGES/*.mo"))
    ]
