"""Stable per-person attributes derived by hashing an index, so a customer keeps one name, phone
and outlet across tickets and chunks without a customer table held in memory."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.generate.vocab import GIVEN_CHARS, SURNAMES

_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
                  "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185",
                  "186", "187", "188", "189", "198", "199"]


def hash64(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of ``x`` mixed with ``salt``: a fixed, well-spread uint64 per input."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) * _GOLD + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def unit(x: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) float per input, fixed by ``salt``."""
    return (hash64(x, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


_SURNAME_CUM = np.cumsum(1 / np.arange(1, len(SURNAMES) + 1) ** 0.7)
_SURNAME_CUM /= _SURNAME_CUM[-1]


def names(idx: np.ndarray, salt: int) -> pl.Series:
    """Chinese names: a surname (common ones more often) and one or two given-name characters."""
    h = hash64(idx, salt)
    sur = np.searchsorted(_SURNAME_CUM, unit(idx, salt + 1), side="right")
    g1 = (h % np.uint64(len(GIVEN_CHARS))).astype(np.int64)
    g2 = ((h >> np.uint64(16)) % np.uint64(len(GIVEN_CHARS))).astype(np.int64)
    two = ((h >> np.uint64(40)) % np.uint64(10)) < np.uint64(7)
    chars = pl.Series(GIVEN_CHARS + [""])
    df = pl.DataFrame({
        "s": pl.Series(SURNAMES).gather(np.minimum(sur, len(SURNAMES) - 1)),
        "a": chars.gather(g1),
        "b": chars.gather(np.where(two, g2, len(GIVEN_CHARS))),
    })
    return df.select(pl.concat_str(["s", "a", "b"]).alias("name")).to_series()


def phones(idx: np.ndarray, salt: int) -> pl.Series:
    """11-digit mainland mobile numbers (1xx + 8 digits)."""
    h = hash64(idx, salt)
    prefix = pl.Series(PHONE_PREFIXES).gather((h % np.uint64(len(PHONE_PREFIXES))).astype(np.int64))
    rest = pl.Series(((h >> np.uint64(8)) % np.uint64(100_000_000)).astype(np.int64))
    return pl.DataFrame({"p": prefix, "r": rest}).select(
        pl.concat_str([pl.col("p"), pl.col("r").cast(pl.String).str.zfill(8)]).alias("phone")).to_series()


def codes(prefix: str, idx: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + zero-padded number, e.g. C000012345."""
    return pl.select(pl.concat_str([pl.lit(prefix), pl.Series(idx).cast(pl.String).str.zfill(width)])).to_series()
