"""README.txt of the messy export: what each file is, in which order to load it, and what is wrong in it."""

from __future__ import annotations

from collections import Counter
from typing import Any

WHAT = {
    "outlet-register-xlsx": "网点档案 outlet register (Excel). Broken rows are extra outlets no ticket uses.",
    "technician-roster-xlsx": "师傅名单 technician roster (Excel; 技能 as Chinese lists, 在职 是/否). "
                              "Broken rows are extra technicians no ticket uses.",
    "product-catalog-xlsx": "产品目录 product catalogue (Excel).",
    "parts-stock-xlsx": "配件库存 spare-part stock count (Excel, a title line above the headers: header_row 2).",
    "ticket-system-xlsx": "工单导出 ticket-system export (Excel, one sheet per month of creation; phone, store, "
                          "Suning, VIP.com and Weidian tickets). Dates mix Excel date cells, bare Excel serial "
                          "numbers and ISO text. The first file is a snapshot taken some days before the end; "
                          "the second (later date in its name) re-exports the tickets that changed since, the "
                          "new ones, and a few unchanged ones, with later 更新时间: load it after the first. "
                          "是否保内 (是/否) and 收费金额 (what an out-of-warranty customer paid) feed the cost KPIs; "
                          "投诉内容 is the complaint in the customer's words.",
    "tmall-taobao-aftersales-csv": "天猫淘宝售后单 Tmall/Taobao seller back-office export (GBK CSV, phones masked, "
                                   "dates like 2026/8/5 9:03 and ISO, '无' for empty, an unmapped 店铺名称 column).",
    "platform-aftersales-csv": "平台售后单 JD / Pinduoduo / Douyin export (UTF-8 with BOM; 类型, 状态, 处理结论 "
                               "already as codes; dates ISO with +08:00 or without; 'NULL' for empty; 是否保内, "
                               "收费金额 and the customer's 投诉内容 as the platform records them).",
    "wechat-ticket-events-csv": "工单事件流水 event log of the WeChat mini-program ticket system (UTF-8): one row "
                                "per update, carrying only the fields that update sets (mode: events). "
                                "事件类型 names the event and is not mapped. Its tickets (channel wechat) appear in "
                                "no other file. Folding each ticket's rows in 事件时间 order (last non-empty value "
                                "wins) gives the ticket as of the end; 事件时间 becomes updated_at.",
    "survey-callbacks-csv": "回访记录 survey callbacks (GBK CSV) for tickets of the files above.",
}


def readme(doc: dict[str, Any]) -> str:
    lines = [
        "Messy sample export / 模拟的原始导出数据",
        "=" * 40,
        "",
        f"Data up to {doc['end']}; the first ticket-system export is a snapshot at {doc['snapshot_at']}.",
        "Load all files in the order below (masters first, so references resolve):",
        "    aftersales load <these files, in this order>",
        "Each file matches its mapping in pipelines/mappings by file name.",
        "",
    ]
    for e in doc["files"]:
        rules = Counter(b["rule"] for b in e["broken"])
        broken = ", ".join(f"{k} x{v}" for k, v in sorted(rules.items())) or "none"
        lines += [f"{e['position']:>2}. {e['file']}  ({e['rows']} rows; source {e['source']} -> {e['table']})",
                  f"    {WHAT.get(e['source'], '')}",
                  f"    broken rows: {broken}", ""]
    lines += [
        "expected.json lists every broken row as {row, rule, column} (plus sheet for Excel). Each broken row",
        "breaks exactly one rule. Row numbers: " + doc["row_numbering"],
        f"After loading everything: {doc['expected_distinct_tickets']} distinct tickets; per table: "
        + ", ".join(f"{k} {v}" for k, v in doc["expected_rows"].items()) + ".",
        "",
    ]
    return "\n".join(lines)
