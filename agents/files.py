"""Atomic file output: write to a temporary file in the same folder, then rename over the target.

A reader (or a resumed run, or Snakemake) therefore sees either the old file or the complete new
one, never a half-written file, even if the process is killed mid-write.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
import yaml


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _atomic(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))


def atomic_torch_save(obj: Any, path: Path) -> None:
    _atomic(path, lambda tmp: torch.save(obj, tmp))


def atomic_write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)

    _atomic(path, write)


class CsvLog:
    """An append-only CSV log, flushed after every row so that a killed run loses nothing logged.

    On resume, :meth:`truncate` drops the rows written after the checkpoint being resumed from, so
    the log matches the restored state exactly.
    """

    def __init__(self, path: Path, header: list[str]):
        self.path = Path(path)
        self.header = header
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = open(self.path, "a", newline="")  # noqa: SIM115 (closed in close())
        self._writer = csv.writer(self._file)
        if new:
            self.write(header)

    def write(self, row: Iterable[Any]) -> None:
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def truncate(path: Path, header: list[str], keep: Callable[[dict[str, str]], bool]) -> None:
        """Rewrite ``path`` atomically, keeping the rows for which ``keep(row)`` is true."""
        path = Path(path)
        if not path.exists():
            return
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if keep(r)]
        atomic_write_csv(path, header, ([r[h] for h in header] for r in rows))
