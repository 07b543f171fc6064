"""What to do about a quarantined value: the fix a person can make in the mapping file, guessed
from the rule, the column's type and the value itself (a date written another way → its
`datetime_formats` entry; a `?` → `null_values`)."""

from __future__ import annotations

import datetime as dt
import re

# Tried in order on a value no built-in format reads; day-first before month-first (the
# exports we meet write 29/2/2016), each with and without seconds. strptime reads unpadded
# days and months (29/2/2016 1:16) with the padded directives.
CANDIDATE_FORMATS = (
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y",
    "%d-%m-%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y",
    "%d/%m/%y %H:%M", "%d/%m/%y", "%m/%d/%y %H:%M", "%m/%d/%y", "%Y-%m-%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S.%f",
    "%d %b %Y %H:%M", "%d %b %Y", "%b %d %Y %H:%M", "%b %d, %Y", "%Y-%m-%d %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p", "%H:%M %d/%m/%Y",
)
# Words exports use for "nothing here" that the default null markers do not cover.
NULL_WORDS = {"?", "??", "???", "#n/a", "n.a.", "n/a", "na", "none", "nil", "null", "(blank)", "(null)", "(empty)",
              "/", "\\", "—", "–", "－", "…", "...", "x", "#", "*", "待定", "暂无", "未知", "不详", "无数据"}
_WORDY = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")


def guess_datetime_format(value: str) -> str | None:
    """A strftime format reading ``value`` (e.g. "%d/%m/%Y %H:%M" for 29/2/2016 01:16), or None."""
    text = value.strip()
    for fmt in CANDIDATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        if 2000 <= parsed.year <= 2100:
            return fmt
    return None


def _parses(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value.strip(), fmt)
    except ValueError:
        return False
    return True


def looks_like_null(value: str) -> bool:
    """A marker for "no value": punctuation only (?, /, —), or a word such as n/a, none, 暂无."""
    text = value.strip()
    return bool(text) and (text.lower() in NULL_WORDS or (len(text) <= 3 and not _WORDY.search(text)))


def fix(rule: str, column_type: str | None, value: str | None, vocabulary: str | None = None) -> str:
    """One sentence: what to change (in the mapping file, the config or the export) so that a row
    broken like this one loads."""
    typ = (column_type or "").upper()
    if value is not None and rule in ("type", "known_value") and looks_like_null(value):
        return f'add "{value.strip()}" to `null_values` in the mapping: it means "no value" here'
    if rule == "type" and typ in ("TIMESTAMP", "DATE") and value is not None:
        fmt = guess_datetime_format(value)
        if fmt:
            other = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
            ambiguous = other != fmt and _parses(value, other)
            also = f' (day first; "{other}" if the month comes first)' if ambiguous else ""
            return (f'add "{fmt}" to `datetime_formats` in the mapping (or to the column\'s `formats:`){also}: '
                    f"{value.strip()!r} is a date written that way")
        return ("add the dates' format to `datetime_formats` in the mapping (strftime, e.g. \"%d/%m/%Y %H:%M\"), "
                "or correct them at the source")
    if rule == "type" and typ == "BOOLEAN":
        return "map the source's words with `values:` (e.g. {Y: true, N: false}); an `else:` entry takes the rest"
    if rule == "type":
        return f"correct the values at the source, or map them with `values:`; the column must read as {typ.lower()}"
    if rule == "known_value":
        extend = (f", or add the code to the config's [vocabularies.{vocabulary}] with its 中文/English labels"
                  if vocabulary else "")
        return f"map the source's values to codes with `values:` (an `else:` entry takes the rest){extend}"
    if rule == "key_present":
        return "every row needs its key: drop the empty rows at the source, or check `header_row` and the key's header"
    if rule == "required":
        return "map the column to a header that is filled, give it a `constant:`, or fill it at the source"
    if rule == "in_range":
        return "the value is outside the column's scale (docs/DATA_MODEL.md): correct it at the source"
    if rule == "order_of_events":
        return ("check that both timestamps are mapped to the right headers, with the right `datetime_formats` and "
                "`timezone`; otherwise correct them at the source")
    if rule == "known_reference":
        return "load the master data (outlets, technicians, products, tickets) first, or correct the codes"
    if rule == "duplicate_key":
        return ("name a `tie_break` in the mapping (a second version column, or last_row), or a `version` column "
                "that orders the rows of one key")
    return "see docs/MAPPING.md for the rule"
