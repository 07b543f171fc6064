"""`aftersales map check FILE --mapping M`: a dry run. The file is loaded, with its mapping, into a
private copy of the database inside a transaction that is rolled back: the report says what
would be inserted, updated, left unchanged and quarantined, by rule, with a fix for each rule,
and the database file is never opened for writing (it stays byte for byte as it was)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from aftersales import i18n, model
from aftersales.db import create_schema
from aftersales.errors import UserError
from pipelines import assist, synonyms
from pipelines.load import load_file
from pipelines.mapping import Mapping, all_mappings, parse_mapping
from pipelines.read import ReadAnotherWay

EXAMPLES = 3


@dataclass
class RuleReport:
    rule: str
    column: str | None
    source_column: str | None
    rows: int
    examples: list[tuple[int | None, str | None]]  # (row, raw value)
    fix: str


@dataclass
class CheckReport:
    file: str
    source: str
    table: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    rules: list[RuleReport] = field(default_factory=list)
    refuse_above: float = 0.5  # a real load refuses a file quarantining more than this share


def resolve_mapping(spec: str, mapping_dirs: list[Path] | None = None) -> Mapping:
    """A mapping file's path, or a known source name."""
    path = Path(spec)
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            try:
                doc = yaml.safe_load(fh)
            except yaml.YAMLError as exc:
                raise UserError(f"映射文件 {path} 不是有效的 YAML ({str(exc).splitlines()[0]})") from exc
        return parse_mapping(doc, str(path))
    known = all_mappings(mapping_dirs)
    if spec in known:
        return known[spec]
    raise UserError(f"找不到映射 {spec!r}:请给出映射文件路径,或已知的 source 名 ({', '.join(sorted(known))})")


def fix_for(rule: str, column: str | None, values: list[str], mapping: Mapping) -> str:
    """What to change, for one rule broken on one column, from the values that broke it."""
    col = model.TABLES[mapping.table].column(column) if column else None
    header = next((s.source for s in mapping.columns if s.target == column and s.source), column)
    if rule == "type":
        marks = sorted({v for v in values if v in synonyms.NULL_MARKERS or not any(ch.isalnum() for ch in v)})
        rest = [v for v in values if v and v not in marks]
        fixes = []
        if marks:
            fixes.append(f"{', '.join(marks)} 表示空值:在映射的 null_values 中加入 {json.dumps(marks, ensure_ascii=False)}")
        if rest and (column is None or (col is not None and col.type.upper() in assist.TIME_TYPES)):
            formats = assist.guess_formats(rest)
            fixes.append(f"日期写法未被识别:在映射中加入 datetime_formats: {json.dumps(formats, ensure_ascii=False)}"
                         if formats else "日期写法未被识别:在映射的 datetime_formats 中写明 (strftime 格式,如 %d/%m/%Y %H:%M)")
        elif rest:
            fixes.append(f"{header} 的值不是 {col.type.lower() if col else '所需类型'}:更正导出,或用 values 把它们对应到合法值")
        return ";".join(fixes)
    if rule == "known_value" and col is not None and col.allowed:
        mapped, unknown = assist.guess_codes(col.name, col.allowed, values)
        entries = {**mapped, **dict.fromkeys(unknown, "?")}
        return (f"在映射 {column} 的 values 中加上 {json.dumps(entries, ensure_ascii=False)} (? 处填代码: "
                f"{', '.join(col.allowed)})")
    if rule == "in_range" and col is not None and col.type.upper() in assist.TIME_TYPES:
        return (f"{header} 晚于可接受的最后一天 (配置文件 [load] 的 future_days,默认明天):"
                "更正日期,或检查日期写法是否把日、月读反了")
    scale = "" if col is None or col.min is None or col.max is None else f"{col.min:g}..{col.max:g}"
    return {
        "key_present": f"{header} (主键) 为空:在导出中补全,或删去这些行",
        "required": f"{header} 为必填:在导出中补全;若整个文件都一样,可在映射中写 constant",
        "in_range": f"{header} 超出刻度 ({scale}):检查是否另一种分制,需要先换算",
        "order_of_events": f"{header} 早于它之前的时间:检查时间列是否对应对了,以及 timezone",
        "known_reference": f"{header} 在主数据中不存在:先导入对应的主数据 (网点、师傅、工单),或更正编码",
        "duplicate_key": "同一键、同一版本出现两行不同内容:在映射中指定更细的版本列,或修正导出",
    }.get(rule, "见 docs/MAPPING.md 的规则表")


def check(path: Path, mapping: Mapping, db_path: Path | None, business_tz: str, refuse_above: float = 0.5,
          future_days: int = 1) -> CheckReport:
    """Load `path` into a throw-away copy of the database and report; nothing is written."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: 文件不存在")
    with tempfile.TemporaryDirectory(prefix="aftersales-check-") as tmp:
        work = Path(tmp) / "check.duckdb"
        if db_path is not None and Path(db_path).exists():
            shutil.copyfile(db_path, work)  # read only: the live file is never opened
        con = duckdb.connect(str(work))
        try:
            create_schema(con)
            con.execute("SET TimeZone = $tz", {"tz": business_tz})
            # The dry run reports every rule whatever the share (the mapping's own limit set aside),
            # and says when a real load would refuse the file: above the mapping's limit, else the config's.
            limit = mapping.max_quarantined_share
            lenient = dataclasses.replace(mapping, max_quarantined_share=1.0)
            con.execute("BEGIN TRANSACTION")
            try:
                res = load_file(con, path, lenient, business_tz, max_quarantined_share=1.0, future_days=future_days)
            except ReadAnotherWay:
                con.execute("ROLLBACK")
                con.execute("BEGIN TRANSACTION")
                res = load_file(con, path, lenient, business_tz, direct_csv=False, max_quarantined_share=1.0,
                                future_days=future_days)
            report = CheckReport(path.name, mapping.source, mapping.table, res.rows_read, res.inserted, res.updated,
                                 res.unchanged, res.quarantined)
            report.refuse_above = refuse_above if limit is None else float(limit)
            rows = con.execute(
                "SELECT rule, column_name, source_column, row_number, raw FROM quarantine WHERE load_id = $id "
                "ORDER BY rule, column_name, row_number", {"id": res.load_id}).fetchall()
            con.execute("ROLLBACK")
        finally:
            con.close()
    groups: dict[tuple, list] = {}
    for rule, column, source_column, row, raw in rows:
        groups.setdefault((rule, column, source_column), []).append((row, raw))
    for (rule, column, source_column), items in groups.items():
        values = []
        for _, raw in items:
            cells = json.loads(raw) if raw else {}
            values.append(cells.get(source_column) if source_column else None)
        distinct = [v for v, _ in Counter(v for v in values if v is not None).most_common(20)]
        examples = [(row, value) for (row, _), value in list(zip(items, values, strict=True))[:EXAMPLES]]
        report.rules.append(RuleReport(rule, column, source_column, len(items), examples,
                                       fix_for(rule, column, distinct, mapping)))
    report.rules.sort(key=lambda r: -r.rows)
    return report


def render(report: CheckReport) -> list[str]:
    """The report, in Chinese: counts first, then each rule with its fix."""
    labels = i18n.ZH_CODES.get("rule", {})
    lines = [f"试运行 {report.file} (映射 {report.source} → 表 {report.table}):未写入任何数据",
             f"  读取 {report.rows_read:,} 行 = 新增 {report.inserted:,} + 更新 {report.updated:,} + "
             f"不变 {report.unchanged:,} + 隔离 {report.quarantined:,}"]
    if report.rows_read and report.quarantined:
        share = report.quarantined / report.rows_read
        lines.append(f"  隔离占比 {share:.1%};按规则 (一行可违反多条):")
        if share > report.refuse_above:
            lines.append(f"  超过 {report.refuse_above:.0%}:正式导入会拒绝整个文件,请先按下列修正改好映射或导出")
    for r in report.rules:
        where = r.source_column or r.column or ""
        shown = ", ".join(f"第 {row} 行 {value!r}" if value is not None else f"第 {row} 行"
                          for row, value in r.examples)
        lines.append(f"  - {labels.get(r.rule, r.rule)} ({r.rule}) {where}: {r.rows:,} 处;例: {shown}")
        lines.append(f"    修正: {r.fix}")
    if not report.quarantined:
        lines.append("  没有被隔离的行")
    return lines


def register(sub) -> None:  # noqa: ANN001 (argparse's private subparsers type)
    """`aftersales map suggest|check`."""
    p = sub.add_parser("map", help="mapping assistant: draft a mapping from a file, or dry-run one (writes nothing)")
    msub = p.add_subparsers(dest="map_command", required=True)
    s = msub.add_parser("suggest", help="write a draft mapping from the file's headers and sampled values")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--table", help="canonical table (default: guessed from the headers)")
    s.add_argument("--out", help="write the draft here (default: print it)")
    s.set_defaults(func=cmd_suggest)
    c = msub.add_parser("check", help="dry run: what would load, update and be quarantined, by rule, with fixes")
    c.add_argument("file", metavar="FILE")
    c.add_argument("--mapping", required=True, metavar="M", help="a mapping file, or a known source name")
    c.add_argument("--mappings", action="append", help="extra directory of mapping files (repeatable)")
    c.set_defaults(func=cmd_check)


def cmd_suggest(args) -> int:  # noqa: ANN001
    text = assist.render(assist.suggest(Path(args.file), table=args.table), Path(args.file))
    if args.out:
        out = Path(args.out)
        if out.exists():
            raise UserError(f"{out} 已存在:换一个文件名,或先删除它 (草稿不覆盖已有文件)")
        out.write_text(text, encoding="utf-8")
        print(f"映射草稿已写入 {out};核对后运行: aftersales map check {args.file} --mapping {out}")
    else:
        print(text, end="")
    return 0


def cmd_check(args) -> int:  # noqa: ANN001
    from aftersales.config import load_config, resolve_db_path

    db = resolve_db_path(args.db)
    cfg = load_config(args.config, db)
    mapping = resolve_mapping(args.mapping, [Path(d) for d in args.mappings] if args.mappings else None)
    print("\n".join(render(check(Path(args.file), mapping, db, cfg["timezone"],
                                  refuse_above=float(cfg["load"]["max_quarantined_share"]),
                                  future_days=int(cfg["load"]["future_days"])))))
    return 0
