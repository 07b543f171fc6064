"""Which character set a CSV export is written in: decided on the whole file, or refused.

`encoding: auto` chooses only among what Chinese and international exports really use: UTF-8
(with or without BOM), UTF-16 with a BOM, and GB18030 (a superset of GBK and GB2312). A
generic detector guesses Korean, Cyrillic or Mac code pages for short GBK files (孙杰 read as
cp949 became 建쌤), so none is consulted: a file is read in one of these encodings only if every
byte of it decodes, and a file that is UTF-8 in some lines and not in others is refused.
Any other encoding is used only when the mapping names it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aftersales.errors import UserError

BLOCK = 4 << 20
SAMPLE_BYTES = 256 * 1024
# Characters a UTF-8 line of a Chinese export holds and a GBK line that happens to decode as
# UTF-8 almost never does: GBK byte pairs read as UTF-8 give two-byte characters (Latin,
# Greek, Cyrillic, U+0080..U+07FF), rarely the three-byte CJK range.
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class BadByte:
    line: int  # 1-based line of the file
    offset: int  # byte offset in the file


def _blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(BLOCK), b"")


def first_bad(path: Path, encoding: str) -> BadByte | None:
    """Where `path` stops decoding in `encoding` (strictly), or None if all of it decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines, offset = 0, 0
    for block in _blocks(path):
        try:
            text = decoder.decode(block)
        except UnicodeDecodeError as exc:
            # The decoder may hold a few bytes of the previous block; the line count is exact
            # up to the start of this block, then counted on the bytes before the bad one.
            start = max(exc.start - len(exc.object) + len(block), 0)
            before = block[:start]
            nl = before.count(b"\n") if "16" not in encoding else before.decode(encoding, "ignore").count("\n")
            return BadByte(lines + nl + 1, offset + start)
        lines += text.count("\n")
        offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return BadByte(lines + 1, offset)
    return None


def first_utf8_chinese_line(path: Path) -> int | None:
    """The first line that is valid UTF-8 holding Chinese (or other CJK/full-width) text."""
    number, tail = 0, b""
    for block in _blocks(path):
        lines = (tail + block).split(b"\n")
        tail = lines.pop()
        for line in lines:
            number += 1
            if line.isascii():
                continue
            try:
                if _CJK.search(line.decode("utf-8")):
                    return number
            except UnicodeDecodeError:
                continue
    if tail and not tail.isascii():
        try:
            if _CJK.search(tail.decode("utf-8")):
                return number + 1
        except UnicodeDecodeError:
            pass
    return None


# A file this small is checked whole even where a reader would validate the rest itself.
SMALL_BYTES = 1 << 20
# What GBK byte pairs give when read as UTF-8: C1 controls, combining marks, IPA, Greek, Cyrillic,
# Armenian, Hebrew, Arabic … (U+0080..U+009F, U+0250..U+07FF), or Latin letters and signs that
# stand apart from any ASCII letter (",Ã©,"); Western text has them inside words (José, 25°C).
_UNWESTERN = re.compile("[\u0080-\u009f\u0250-\u07ff]|(?<![A-Za-z])[\u00a0-\u024f]+(?![A-Za-z])")
_SCRIPTS = {"Greek": ("\u0370", "\u03ff"), "Cyrillic": ("\u0400", "\u052f"), "Hebrew": ("\u0590", "\u05ff"),
            "Arabic": ("\u0600", "\u06ff")}
_CHINESE = re.compile("[^\x00-\x7f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def gbk_read_as_utf8(path: Path) -> bool:
    """Whether a small file that is valid UTF-8 is really GBK: a few Chinese characters in GBK can
    form valid two-byte UTF-8 sequences by chance (谭雪 reads as U+0337 U+0469). Decided so when the
    UTF-8 reading has nothing above U+07FF but characters Western text does not use, and the
    GB18030 reading is plain Chinese."""
    if path.stat().st_size > SMALL_BYTES:
        return False
    data = path.read_bytes()
    text = data.decode("utf-8")
    unwestern = _UNWESTERN.findall(text)
    if max(text, default="\x00") >= "\u0800" or not unwestern:
        return False
    # Words of one script (Иван, Ελένη) are that script; GBK pairs land in several at random.
    scripts = {next((name for name, (lo, hi) in _SCRIPTS.items() if lo <= c <= hi), "other") for c in unwestern}
    if len(unwestern) >= 3 and len(scripts) == 1 and "other" not in scripts:
        return False
    try:
        chinese = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return _CHINESE.search(chinese) is None


def head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SAMPLE_BYTES)


def _bom(sample: bytes) -> str | None:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def sample_is_utf8(sample: bytes) -> bool:
    """Strict UTF-8 over a sample that may end inside a character."""
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False


def check_named(path: Path, encoding: str) -> None:
    """A mapping's own encoding must decode the whole file."""
    bad = first_bad(path, encoding)
    if bad is not None:
        raise UserError(f"{path}: cannot decode as {encoding} at line {bad.line} (byte {bad.offset:,}); "
                        "set `encoding:` in the mapping to the file's character set (utf-8, gb18030, utf-16, …) "
                        "or re-export the file as UTF-8")


def detect(path: Path, whole: bool = True) -> str:
    """The encoding of `path` among UTF-8 (BOM or not), UTF-16 (BOM) and GB18030, else UserError.

    `whole=False` decides UTF-8 on the first 256 KB only, for a reader that validates the rest
    itself (DuckDB's CSV scan refuses invalid UTF-8; the loader then calls again with whole=True).
    """
    sample = head(path)
    bom = _bom(sample)
    if bom == "utf-32":
        raise UserError(f"{path}: the file is UTF-32, which exports do not use; re-export it as UTF-8")
    if bom:
        check_named(path, bom)
        return bom
    if not whole and path.stat().st_size > SMALL_BYTES and sample_is_utf8(sample):
        return "utf-8"
    bad = first_bad(path, "utf-8")
    if bad is None:
        return "gb18030" if gbk_read_as_utf8(path) else "utf-8"
    chinese = first_utf8_chinese_line(path)
    if chinese is not None:
        raise UserError(f"{path}: mixes encodings: line {chinese} is UTF-8 but line {bad.line} is not; "
                        "nothing was loaded. Re-export the whole file in one encoding (UTF-8 preferably)")
    bad_gb = first_bad(path, "gb18030")
    if bad_gb is None:
        return "gb18030"
    raise UserError(f"{path}: neither UTF-8 (line {bad.line} is not) nor GBK/GB18030 (line {bad_gb.line} is not); "
                    "if it is another character set, name it with `encoding:` in the mapping, "
                    "or re-export the file as UTF-8")


def decode_whole(path: Path, encoding: str) -> str:
    """The file's text, strictly decoded (the caller has checked it decodes)."""
    return path.read_bytes().decode(encoding)
