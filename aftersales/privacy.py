"""Personal data, masked wherever it is shown or written: the one home of the masking rule.

Customers' names and phone numbers (the model's ``personal`` columns) leave the product only
masked: 张** for a name, 138****1234 for a phone. The rule is written once, as Polars
expressions (``name_expr``, ``phone_expr``); the scalar functions and every frame apply those.

Three ways in:
- ``mask_frame``: a frame of canonical columns (the drill-down records, breaching tickets).
- ``mask_name`` / ``mask_phone``: one value.
- ``mask_raw``: the raw values a quarantined row kept (JSON text keyed by the file's own headers).
  Raw text carries no types, so a value is masked by the role its header plays: a header a
  mapping maps onto a personal column, a header that reads like a name or phone column, or, for
  headers no mapping claims, a value that looks like a phone number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import polars as pl

from aftersales import model

# Canonical personal column -> its role (how it is masked).
# Free text (a complaint's content) is personal where it may quote a phone number: its runs of
# digits are masked, the words kept.
ROLES: dict[str, str] = {
    c.name: ("phone" if "phone" in c.name else "text" if c.name.endswith("_text") else "name")
    for t in model.TABLES.values() for c in t.columns if c.personal
}
# Headers that read like a person's name or a phone number (a file's own headers, 中文 or English).
_PHONE_HEADER = re.compile(r"phone|mobile|tel|手机|电话|联系方式|联系电话", re.IGNORECASE)
_NAME_HEADER = re.compile(r"^((customer|client|buyer|consignee|receiver|contact)[ _]?)?name$|姓名|收货人|联系人|"
                          r"客户名|顾客名|买家名", re.IGNORECASE)
# A value that is a phone number whatever its header says: a Chinese mobile (optionally +86) or a
# landline with an area code, with or without separators.
_PHONE_VALUE = re.compile(r"^\s*(\+?86[\s-]?)?(1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{7,8})\s*$")


def name_expr(col: pl.Expr) -> pl.Expr:
    """张三丰 → 张**: the first character, then two stars (empty stays empty)."""
    return pl.when(col.is_null()).then(None).otherwise(col.str.slice(0, 1) + pl.lit("**"))


def phone_expr(col: pl.Expr) -> pl.Expr:
    """13812341234 → 138****1234: the first three and last four characters; shorter than seven
    characters, only stars."""
    return (pl.when(col.is_null()).then(None)
            .when(col.str.len_chars() >= 7).then(col.str.slice(0, 3) + pl.lit("****") + col.str.slice(-4))
            .otherwise(pl.lit("****")))


def text_expr(col: pl.Expr) -> pl.Expr:
    """请回电13812341234 → 请回电138****1234; any other run of seven or more digits (a landline,
    an ID number, an order number) → ****. Shorter numbers (12315, 3天, 200元) stay."""
    mobile = col.str.replace_all(r"(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})", "${1}****${2}")
    return mobile.str.replace_all(r"\d(?:[\s-]?\d){6,}", "****")


_EXPRS = {"name": name_expr, "phone": phone_expr, "text": text_expr}


def mask_values(values: list[str | None], role: str) -> list[str | None]:
    """Values masked as a ``role`` ("name", "phone" or "text"), in one pass."""
    if not values:
        return []
    s = pl.Series("v", values, dtype=pl.String)
    return s.to_frame().select(_EXPRS[role](pl.col("v"))).to_series().to_list()


def mask(value: str | None, role: str) -> str | None:
    """One value masked as a ``role`` ("name" or "phone")."""
    return None if value is None else mask_values([str(value)], role)[0]


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**"""
    return mask(name, "name")


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234"""
    return mask(phone, "phone")


def mask_frame(df: pl.DataFrame, roles: dict[str, str] | None = None) -> pl.DataFrame:
    """``df`` with its personal columns masked (by default the model's, by their canonical names)."""
    roles = ROLES if roles is None else roles
    cols = [_EXPRS[role](pl.col(c).cast(pl.String)).alias(c) for c, role in roles.items() if c in df.columns]
    return df.with_columns(cols) if cols else df


def header_roles(personal: dict[str, str], not_personal: Iterable[str] = ()) -> dict[str, str | None]:
    """A lookup from a file's header to its role: the headers mappings name (``personal``:
    header -> role; ``not_personal``: headers mapped onto other columns, None)."""
    out: dict[str, str | None] = {h: None for h in not_personal}
    out.update(personal)
    return out


def role_of_header(header: str, known: dict[str, str | None]) -> str | None:
    """The role a header plays: what a mapping says, else what its name reads like."""
    if header in known:
        return known[header]
    if _PHONE_HEADER.search(header):
        return "phone"
    if _NAME_HEADER.search(header.strip()):
        return "name"
    return None


def mask_raws(raws: list[str | None], knowns: list[dict[str, str | None]]
              ) -> tuple[list[str | None], list[dict[str, str]]]:
    """The JSON texts of quarantined rows' raw values with the personal ones masked (row i judged
    by ``knowns[i]``, header -> role), and per row the replacements made (raw value -> masked),
    for masking the same values in its message. One masking pass per role for all the rows."""
    parsed: list[Any] = []
    todo: dict[str, list[tuple[int, str, str]]] = {role: [] for role in _EXPRS}  # role -> (row, header, value)
    for i, (raw, known) in enumerate(zip(raws, knowns, strict=True)):
        try:
            values = json.loads(raw) if raw is not None else None
        except ValueError:
            values = raw  # not JSON: free text
        parsed.append(values)
        if not isinstance(values, dict):
            continue
        for header, value in values.items():
            if not isinstance(value, str) or not value:
                continue
            role = role_of_header(header, known)
            if role is None and header not in known and _PHONE_VALUE.match(value):
                role = "phone"
            if role is not None:
                todo[role].append((i, header, value))
    replaced: list[dict[str, str]] = [{} for _ in raws]
    for role, items in todo.items():
        for (i, header, value), masked in zip(items, mask_values([v for _, _, v in items], role), strict=True):
            parsed[i][header] = replaced[i][value] = masked
    out = [v if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, dict)
           else raw if not isinstance(v, str) else mask_text(v, {})
           for v, raw in zip(parsed, raws, strict=True)]
    return out, replaced


def mask_raw(raw: str | None, known: dict[str, str | None]) -> tuple[str | None, dict[str, str]]:
    """One quarantined row's raw values (JSON text), masked as ``mask_raws`` does."""
    out, replaced = mask_raws([raw], [known])
    return out[0], replaced[0]


def mask_text(text: str | None, replacements: dict[str, str]) -> str | None:
    """Free text (a message) with the given personal values, and any phone number in it, masked."""
    if text is None:
        return None
    for value in sorted(replacements, key=len, reverse=True):
        text = text.replace(value, replacements[value])
    return re.sub(r"(?<!\d)(\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)", lambda m: mask(m[0], "phone") or "",
                  text)
