"""Run-directory file I/O: atomic writes, append-only CSV logs that survive torn writes, a lock.

Atomic writes go to a temporary file in the same folder, then are renamed over the target, so a
reader (or a resumed run, or Snakemake) sees either the old file or the complete new one, never a
half-written file, even if the process is killed mid-write. The final file has the mode that the
umask gives any new file (``mkstemp`` alone would leave it 0600, unreadable to collaborators).
"""

from __future__ import annotations

import csv
import errno
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
import yaml

from agents.errors import UsageError

TMP_SUFFIX = ".tmp"


class DiskFull(OSError):
    """A write failed for lack of space (ENOSPC or EDQUOT); the target file is untouched."""

    def __init__(self, path: Path):
        super().__init__(errno.ENOSPC, "no space left on device", str(path))
        self.path = Path(path)


def is_disk_full(exc: BaseException | None) -> bool:
    """ENOSPC or EDQUOT, here or in the exceptions that led to it.

    torch.save meets the OSError inside its zip writer, then raises a RuntimeError while closing
    the archive; the OSError is that RuntimeError's context.
    """
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _umask_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise DiskFull(path) from exc
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _atomic(path, lambda f: f.write(text.encode()))


def atomic_save_figure(fig: Any, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure to ``path`` atomically (its format from the suffix) and close
    it, whether or not the save succeeds."""
    import matplotlib.pyplot as plt

    try:
        _atomic(path, lambda f: fig.savefig(f, format=Path(path).suffix[1:], dpi=dpi))
    finally:
        plt.close(fig)
    return Path(path)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))


def atomic_torch_save(obj: Any, path: Path) -> None:
    # Through a Python file object, so that a full disk raises OSError(ENOSPC) rather than an
    # opaque RuntimeError from torch's C++ writer.
    _atomic(path, lambda f: torch.save(obj, f))


def atomic_write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    def write(f: io.BufferedWriter) -> None:
        text = io.TextIOWrapper(f, newline="", encoding="utf-8")
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        text.flush()
        text.detach()

    _atomic(path, write)


def remove_orphaned_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left in ``folder``.

    Only safe while holding the folder's :class:`RunLock`: no other writer can be mid-write.
    """
    removed = []
    for tmp in Path(folder).glob(f".*{TMP_SUFFIX}"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


class RunLock:
    """An exclusive, non-blocking lock on a run directory, held while a process writes to it.

    ``flock`` on ``<dir>/.lock``, which names the holder's pid. The operating system releases
    the lock when the process exits, however it dies (``kill -9`` included), so a stale lock file
    never blocks a rerun. A second writer on the same directory is refused with a one-line
    :class:`UsageError`. The file is removed on release (while still locked, and a new holder
    checks it locked the file that is still in place), so a finished run leaves nothing behind.
    """

    LOCK_FILE = ".lock"

    def __init__(self, folder: Path):
        self.path = Path(folder) / self.LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise UsageError(
                    f"run directory {self.path.parent} is in use by another process "
                    f"(pid {holder}); wait for it to finish or stop it, then rerun"
                ) from None
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                break
            os.close(fd)  # the previous holder removed this file as we locked it: try again
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            # A full disk creates the empty file but cannot write the pid: remove the file (ours,
            # as in release) so that a failed start leaves nothing behind.
            self.path.unlink(missing_ok=True)
            os.close(fd)
            if is_disk_full(exc):
                raise DiskFull(self.path) from exc
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _parses_completely(row: list[str], width: int) -> bool:
    """A log row is kept only if it has every field and each field is a number."""
    if len(row) != width:
        return False
    try:
        for field in row:
            float(field)
    except ValueError:
        return False
    return True


def log_bytes(path: Path) -> bytes:
    """The bytes of a log, or of its packed form (:func:`pack_logs`: ``path`` + ``.xz``, or the
    older ``.gz``); FileNotFoundError if none."""
    if not path.exists():
        for packed, decompress in _packed_forms(path):
            if packed.exists():
                return decompress(packed.read_bytes())
    return path.read_bytes()


def read_complete_rows(path: Path, header: list[str]) -> list[dict[str, str]]:
    """The rows of a numeric CSV log that were written completely.

    A write torn by a crash, a power loss or a full disk leaves a last line without its line
    ending, possibly cut inside a field (``-2`` of ``-21``): that line is dropped even when it
    happens to parse. Any row that does not parse completely is dropped too.
    """
    return [dict(zip(header, r, strict=True)) for r in complete_row_fields(path, header)]


def complete_row_fields(path: Path, header: list[str]) -> list[list[str]]:
    """:func:`read_complete_rows` as lists of fields in ``header``'s order (no dict per row: the
    reports hand them straight to pandas, a few hundred thousand rows per table). ``path`` may
    be stored packed (:func:`pack_logs`)."""
    return complete_fields_of(log_bytes(Path(path)), header)


def complete_fields_of(data: bytes, header: list[str]) -> list[list[str]]:
    """:func:`complete_row_fields` of a log's bytes already read (a caller that also inspects
    them reads the file once)."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines = lines[:-1]  # torn last row
    rows = list(csv.reader(lines))
    if not rows or rows[0] != header:
        return []
    return [r for r in rows[1:] if _parses_completely(r, len(header))]


class CsvLog:
    """An append-only CSV log, flushed after every row so that a killed run loses nothing logged.

    On resume, :meth:`truncate` drops the rows written after the checkpoint being resumed from, so
    the log matches the restored state exactly.
    """

    def __init__(self, path: Path, header: list[str]):
        self.path = Path(path)
        self.header = header
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._writer = csv.writer(self._file)
        if new:
            self.write(header)

    def write(self, row: Iterable[Any]) -> None:
        try:
            self._writer.writerow(row)
            self._file.flush()
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(self.path) from exc
            raise

    def close(self) -> None:
        # A flush that fails on a full disk leaves a torn row, which the next resume drops.
        with suppress(OSError):
            self._file.close()

    @staticmethod
    def truncate(path: Path, header: list[str], keep: Callable[[dict[str, str]], bool]) -> None:
        """Rewrite ``path`` atomically, keeping the complete rows for which ``keep(row)`` is true."""
        path = Path(path)
        if not path.exists():
            return
        rows = [r for r in read_complete_rows(path, header) if keep(r)]
        atomic_write_csv(path, header, ([r[h] for h in header] for r in rows))


#: The logs :func:`pack_logs` compresses for committing (a 1M-step run's episodes.csv is ~1 MB).
PACKED_LOGS = ("episodes.csv", "losses.csv", "evals.csv")


def _packed_forms(plain: Path) -> list[tuple[Path, Callable[[bytes], bytes]]]:
    """Where a log's packed form may be, with its decompressor: ``.xz``, which :func:`pack_logs`
    writes, then ``.gz``, which it wrote before (the pilot's runs and older collections)."""
    import gzip
    import lzma

    return [
        (plain.with_name(plain.name + ".xz"), lzma.decompress),
        (plain.with_name(plain.name + ".gz"), gzip.decompress),
    ]


def pack_logs(run_dir: Path) -> list[Path]:
    """Compress a run directory's logs in place for committing (``episodes.csv`` ->
    ``episodes.csv.xz``), atomically and reproducibly (xz holds no timestamp). A log packed the
    older way (``.gz``) is repacked: xz keeps the study's logs about 40% smaller than gzip's
    level 9 (Breakout's ``episodes.csv``: 69 kB against 123 kB). The decompressed bytes are the
    log's own, so readers (:func:`agents.rundir.read_log`) see the same rows in any form; a
    resumed or extended run unpacks them first (:func:`unpack_logs`)."""
    import lzma

    packed = []
    for name in PACKED_LOGS:
        plain = Path(run_dir) / name
        (target, _), *older_forms = _packed_forms(plain)
        if not plain.exists() and target.exists():
            _drop_leftover_forms(target, older_forms)
            continue  # packed already
        try:
            data = log_bytes(plain)
        except FileNotFoundError:
            continue
        compressed = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
        _atomic(target, lambda f, compressed=compressed: f.write(compressed))
        for source in (plain, *(path for path, _ in older_forms)):
            source.unlink(missing_ok=True)
        packed.append(target)
    return packed


def _drop_leftover_forms(
    target: Path, older_forms: list[tuple[Path, Callable[[bytes], bytes]]]
) -> None:
    """Remove an older packed form that a repack cut off before its unlink left beside the
    ``.xz``; readers take the ``.xz`` first, so one holding other rows would be silently
    shadowed, and is refused instead."""
    for stale, decompress in older_forms:
        if not stale.exists():
            continue
        if decompress(stale.read_bytes()) != log_bytes(target.with_suffix("")):
            raise UsageError(
                f"{stale} and {target} hold different logs; keep the right one and delete the other"
            )
        stale.unlink()


def unpack_logs(run_dir: Path) -> list[Path]:
    """Undo :func:`pack_logs` (before a run appends to its logs again)."""
    unpacked = []
    for name in PACKED_LOGS:
        plain = Path(run_dir) / name
        for target, decompress in _packed_forms(plain):
            if target.exists():
                if not plain.exists():
                    data = decompress(target.read_bytes())
                    _atomic(plain, lambda f, data=data: f.write(data))
                    unpacked.append(plain)
                target.unlink()
    return unpacked
