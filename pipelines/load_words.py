"""The loader's terminal lines in Chinese (issue 17's while-there): ``aftersales load`` prints
them in the config's language (``--lang en`` keeps the English the loader writes).

The loader (``pipelines.load``) writes its progress lines in English; this module turns each kind
of line into Chinese at the terminal, by its shape, keeping file names, sources and numbers as
written. A line of a shape not known here is printed as it came (tests/test_load_zh.py loads real
files and fails on any English word left, so a new kind of line is noticed).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aftersales import model

_N = r"([\d,]+)"
_SUMMARY = re.compile(rf"^([✓=]) (.+) → (\w+) \[(.+)\]: {_N} read = {_N} inserted \+ {_N} updated \+ {_N} unchanged "
                      rf"\+ {_N} quarantined \(([\d.]+) s\)(?: — (.*))?$")
_TOTALS = re.compile(rf"^(\d+) file\(s\) into (.+): {_N} rows read = {_N} inserted \+ {_N} updated \+ {_N} unchanged "
                     rf"\+ {_N} quarantined$")
_DERIVED = re.compile(r"^derived tables (rebuilt|unchanged|patched (\d[\d,]*) tickets)"
                      r"(?:; rollups (?:built \(([\d,]+) rows\)|patched \((\d+) months\)))? in ([\d.]+) s$")
_PEAK = re.compile(r"^peak memory ([\d,]+) MB \(budget ([\d,]+) MB, \[load\] memory_budget\)$")
_BEFORE = re.compile(r"^(\d+) file\(s\) before the failure were loaded; .*$")
_NOT_REBUILT = re.compile(r"^derived tables not rebuilt \((.*)\); the data are loaded and .*$")
FIXED = {
    "data published; rebuilding the metrics' derived tables (until they land the metrics read the loaded tables "
    "directly: same numbers, slower)": "数据已发布;正在重建指标的派生表(完成前指标直接读取已导入的表:数字相同,速度较慢)",
    "quarantined rows: `aftersales rejects` lists them with the rule and the raw values":
        "有被隔离的行:`aftersales rejects` 列出每行的规则和原始值",
}


def _table(name: str) -> str:
    t = model.TABLES.get(name)
    return t.zh if t is not None and t.zh else name


def zh(line: str) -> str:
    """One loader line in Chinese (as it came when its shape is not known)."""
    if line in FIXED:
        return FIXED[line]
    m = _SUMMARY.match(line)
    if m:
        head, name, table, source, read, ins, upd, same, quar, secs, note = m.groups()
        text = (f"{head} {name} → {_table(table)} [{source}]:读取 {read} 行 = 新增 {ins} + 更新 {upd} + 未变 {same} + "
                f"隔离 {quar}({secs} 秒)")
        if head == "=":
            text += " — 重复文件,已跳过"
        elif note:
            text += f" — {note}"
        return text
    m = _TOTALS.match(line)
    if m:
        n, db, read, ins, upd, same, quar = m.groups()
        return f"{n} 个文件导入 {db}:读取 {read} 行 = 新增 {ins} + 更新 {upd} + 未变 {same} + 隔离 {quar}"
    m = _DERIVED.match(line)
    if m:
        what, patched, rolled_rows, rolled_months, secs = m.groups()
        done = "已重建" if what == "rebuilt" else "无需更新" if what == "unchanged" else f"已增量更新 {patched} 张工单"
        rolled = (f";汇总表已重建({rolled_rows} 行)" if rolled_rows else
                  f";汇总表已更新 {rolled_months} 个月" if rolled_months else "")
        return f"派生表{done}{rolled},用时 {secs} 秒"
    m = _PEAK.match(line)
    if m:
        return f"内存峰值 {m.group(1)} MB(预算 {m.group(2)} MB,`[load] memory_budget`)"
    m = _BEFORE.match(line)
    if m:
        return f"出错前的 {m.group(1)} 个文件已导入;请修正该文件后重新导入(已导入的文件会被识别并跳过)"
    m = _NOT_REBUILT.match(line)
    if m:
        return f"派生表未重建({m.group(1)});数据已导入,指标直接读取(数字相同,速度较慢),下次导入时再重建"
    return line


def echo(lang: str, out: Callable[[str], None] = print) -> Callable[[str], None]:
    """A loader ``echo`` that prints each line in ``lang``."""
    if lang != "zh":
        return out
    return lambda line: out(zh(line))
