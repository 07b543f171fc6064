"""Complaint themes on real Chinese review text: how many negative reviews get a theme, against
positive ones, and which themes, for one product category of the online-shopping reviews of
SophonPlus/ChineseNlpCorpus (``online_shopping_10_cats.csv``: columns cat, label, review).

That set carries no licence, so no extract ships with the tests; run this where a copy is at hand:

    .venv/bin/python tests/benchmarks/complaint_themes_real.py PATH/online_shopping_10_cats.csv [--category 热水器]

Prints the share of texts given a theme (negative vs positive reviews), the themes of the
negative ones, and the segmentation time. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time

import polars as pl

from metrics import text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--category", default="热水器")
    args = ap.parse_args(argv)
    df = pl.read_csv(args.csv, encoding="utf8-lossy").filter(pl.col("cat") == args.category)
    if df.is_empty():
        print(f"{args.csv}: no reviews of category {args.category!r}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    text.tokenizer()
    load = time.perf_counter() - t0
    out = {}
    for label, name in ((0, "negative"), (1, "positive")):
        texts = df.filter(pl.col("label") == label)["review"].to_list()
        t1 = time.perf_counter()
        themes = text.classify(texts)["theme"]
        secs = time.perf_counter() - t1
        themed = (themes != text.UNCLASSIFIED).mean()
        out[name] = themes
        print(f"{name}: {len(texts)} reviews, {themed:.0%} given a theme ({secs:.2f} s)")
    print(f"dictionary load: {load:.2f} s")
    counts = out["negative"].value_counts(sort=True)
    print("themes of the negative reviews:")
    for theme, n in counts.iter_rows():
        print(f"  {text.theme_label(theme, 'zh')} ({theme}): {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
