"""The standby: the previous published version of the database, kept to become the next work copy.

A writer never touches the live file (readers hold it open); it used to copy the whole live file
to a work copy first, which at 10M tickets is 2 GB for a day's delta. Instead the file the last
load replaced is kept under a second name, and the next writer brings it up to date by copying
only the blocks that differ from the live file, then applies its own files to it and publishes
it by rename: the two files take turns (docs/LOADING.md, "Loads without copying the database").

Which blocks differ is read from DuckDB's own block checksums. A DuckDB file is three 4 KiB
headers followed by blocks of ``block_alloc_size`` bytes, each starting with the 64-bit checksum
of its contents, and DuckDB writes a block whole, from its start. The standby starts every
session byte-identical to the live file (this module's job), and a session only writes whole
blocks, the headers and the file's length into it; so a block differs from the live file's iff
its first eight bytes do, even after a writer killed in the middle of a block's write (the write
proceeds from the block's start: a torn block starts with the new checksum, or was not written).
Anything that does not look like that layout falls back to a whole copy.

A reader that opened the standby while it was live may still be reading it. Its DuckDB holds a
shared lock on the file; the writer takes an exclusive lock of its own (an open-file-description
lock, which conflicts with DuckDB's even inside one process) before writing a byte, waits a
bounded time for such a reader to finish, and otherwise copies the live file to a new inode as
before, leaving the reader its file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import struct
import time
from pathlib import Path

HEADER_BYTES = 3 * 4096  # DuckDB's main header and its two alternating database headers
MAGIC = b"DUCK"  # at offset 8 of the main header
# Waited, at most, for a reader still holding the standby (it was live when the reader opened it)
# to close it, before falling back to a copy. Dashboard queries take well under this.
READER_WAIT_SECONDS = 2.0
# A standby retired less than this long ago is left alone that long: a reader that resolved the
# live path to it just before it was retired has not yet taken its lock (microseconds, between
# DuckDB's open() and its fcntl()).
RETIRE_GRACE_SECONDS = 0.1
_F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)  # Linux; 37 on every Linux architecture


class CannotSync(Exception):
    """The standby cannot be brought up to date block by block; copy the live file instead."""


def block_size(path: Path) -> int:
    """The block size of a DuckDB file, from its newer database header (iteration counter)."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if len(head) < HEADER_BYTES or head[8:12] != MAGIC:
        raise CannotSync(f"{path.name}: not a DuckDB file of the known layout")
    # database header: checksum, iteration, meta_block, free_list, block_count, block_alloc_size
    headers = [struct.unpack_from("<QqqqqQ", head, off) for off in (4096, 8192)]
    size = max(headers, key=lambda h: h[1])[5]
    if size < 4096 or size & (size - 1) or size > 1 << 30:
        raise CannotSync(f"{path.name}: unexpected block size {size}")
    return size


def try_lock(fd: int) -> bool:
    """An exclusive lock on the whole file, not waiting; False if a reader holds it. An
    open-file-description lock conflicts with DuckDB's POSIX locks also within this process (a
    process's own POSIX locks never conflict with each other), and goes with the descriptor."""
    flock = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        fcntl.fcntl(fd, _F_OFD_SETLK, flock)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def lock_for_writing(path: Path, wait: float | None = None) -> int | None:
    """A descriptor of ``path`` open for writing and locked against readers, or None when a reader
    still holds it after ``wait`` seconds (default READER_WAIT_SECONDS). Close the descriptor to
    release the lock."""
    fd = os.open(path, os.O_RDWR)
    deadline = time.monotonic() + (READER_WAIT_SECONDS if wait is None else wait)
    while not try_lock(fd):
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(0.02)
    return fd


def wait_out_grace(path: Path) -> None:
    """Sleep until ``path`` (a standby) was retired at least RETIRE_GRACE_SECONDS ago."""
    with contextlib.suppress(OSError):
        age = time.time() - path.stat().st_ctime
        if 0 <= age < RETIRE_GRACE_SECONDS:
            time.sleep(RETIRE_GRACE_SECONDS - age)


def sync(live: Path, work_fd: int) -> int:
    """Make the file open as ``work_fd`` (locked) byte-identical to ``live``, copying only the
    blocks whose checksums differ, the headers, and the length. Returns the bytes copied."""
    size = block_size(live)
    src = os.open(live, os.O_RDONLY)
    try:
        live_len = os.fstat(src).st_size
        work_len = os.fstat(work_fd).st_size
        for fd in (src, work_fd):  # eight bytes a block: no read-ahead (cold at 10M: 2.1-2.4 s, not 2.7-3.7 s)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        if work_len >= HEADER_BYTES and _block_size_of(work_fd) != size:
            raise CannotSync("the standby's block size differs from the live file's")
        copied = _copy(src, work_fd, 0, min(HEADER_BYTES, live_len))
        for off in range(HEADER_BYTES, live_len, size):
            n = min(size, live_len - off)
            # a block cut short (a copy killed part way) counts as different, whatever its start
            if off + n <= work_len and os.pread(src, 8, off) == os.pread(work_fd, 8, off):
                continue
            # The body first, the checksum last: a sync killed in between leaves the old checksum
            # on a changed body, which the next sync sees as different and copies again.
            copied += _copy(src, work_fd, off + 8, n - 8) + _copy(src, work_fd, off, min(8, n))
        if work_len != live_len:
            os.ftruncate(work_fd, live_len)
        return copied
    finally:
        os.close(src)


def _block_size_of(fd: int) -> int:
    head = os.pread(fd, HEADER_BYTES, 0)
    if len(head) < HEADER_BYTES or head[8:12] != MAGIC:
        raise CannotSync("the standby is not a DuckDB file")
    headers = [struct.unpack_from("<QqqqqQ", head, off) for off in (4096, 8192)]
    return max(headers, key=lambda h: h[1])[5]


def _copy(src: int, dst: int, off: int, count: int) -> int:
    """``count`` bytes at ``off`` from ``src`` to the same place in ``dst``, inside the kernel."""
    done = 0
    while done < count:
        try:
            n = os.copy_file_range(src, dst, count - done, off + done, off + done)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            n = _copy_by_hand(src, dst, off + done, count - done)
        if n == 0:  # the source is shorter than it said
            raise CannotSync("the live file changed length while it was read")
        done += n
    return done


def _copy_by_hand(src: int, dst: int, off: int, count: int) -> int:
    data = os.pread(src, min(count, 8 << 20), off)
    written = 0
    while written < len(data):
        written += os.pwrite(dst, data[written:], off + written)
    return written


def copy_whole(live: Path, work: Path) -> None:
    """The fallback: a fresh copy of the live file (a new inode, whoever holds the old one)."""
    work.unlink(missing_ok=True)
    shutil.copyfile(live, work)
