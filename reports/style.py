"""The report's stylesheet: screen and print (A4). Kept in Python so the package needs no data files."""

CSS = """
:root { --blue: #1f5fa8; --red: #c0392b; --green: #2e8b57; --amber: #b7791f; --grey: #6b7280; --line: #d9dde3; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       color: #1f2937; margin: 0 auto; max-width: 1100px; padding: 24px; font-size: 14px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; color: var(--blue); }
h2 { font-size: 19px; border-bottom: 2px solid var(--blue); padding-bottom: 4px; margin: 28px 0 12px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle { font-size: 16px; color: var(--grey); margin-bottom: 12px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0 12px; font-size: 13px; }
dl.meta dt { color: var(--grey); } dl.meta dd { margin: 0; }
.warning { background: #fff4e5; border-left: 4px solid var(--amber); padding: 8px 12px; margin: 10px 0; }
nav.toc ol { margin: 4px 0 0 18px; padding: 0; columns: 2; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 10px 0 16px; }
.card { border: 1px solid var(--line); border-top: 4px solid var(--grey); border-radius: 6px; padding: 8px 10px;
        break-inside: avoid; }
.card.st-met { border-top-color: var(--green); } .card.st-missed { border-top-color: var(--red); }
.card.st-too_small { border-top-color: var(--amber); }
.card.st-provisional { border-top-color: var(--amber); border-top-style: dashed; }
.card-label { font-size: 12.5px; color: var(--grey); min-height: 2.6em; }
.card-value { font-size: 22px; font-weight: 700; margin: 2px 0; }
.card-value .unit { font-size: 12px; font-weight: 400; color: var(--grey); margin-left: 2px; }
.card-line { font-size: 12px; }
.good { color: var(--green); } .bad { color: var(--red); }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11.5px; background: #eef0f3; }
.badge.st-met { background: #e3f4ea; color: var(--green); } .badge.st-missed { background: #fbe7e5; color: var(--red); }
.badge.st-too_small { background: #fff4e5; color: var(--amber); }
.badge.st-provisional { background: #fff4e5; color: var(--amber); }
table.data { border-collapse: collapse; width: 100%; font-size: 12.5px; margin: 4px 0 6px; }
table.data th { background: #f1f4f8; text-align: left; font-weight: 600; border-bottom: 1px solid #b9c0ca;
                padding: 4px 6px; vertical-align: bottom; }
table.data td { border-bottom: 1px solid var(--line); padding: 3px 6px; vertical-align: top; }
table.data td.num, table.data th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.data td.st-met { color: var(--green); } table.data td.st-missed { color: var(--red); font-weight: 600; }
table.data td.st-too_small { color: var(--amber); }
table.data td.st-provisional { color: var(--amber); font-style: italic; }
table.data td.nw { white-space: nowrap; }
table.data td.wide { min-width: 13em; }
tr { break-inside: avoid; }
.note { font-size: 12px; color: var(--grey); margin: 2px 0 10px; }
.chart { break-inside: avoid; margin: 6px 0; }
footer { margin-top: 28px; font-size: 12px; color: var(--grey); border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 12mm 10mm 14mm 10mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav.toc { display: none; }
  .modebar-container { display: none !important; }
  h2 { break-after: avoid; margin-top: 0; }
  h3 { break-after: avoid; }
  section + section { break-before: page; }
  h3#h-kpis { break-before: page; }
  .cards { grid-template-columns: repeat(4, 1fr); gap: 6px; }
  .card-value { font-size: 17px; }
  table.data { font-size: 9px; }
  table.data td, table.data th { padding: 2px 4px; }
  thead { display: table-header-group; }
}
@media screen and (max-width: 800px) { .cards { grid-template-columns: repeat(2, 1fr); } }
"""
