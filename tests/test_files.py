"""Run-directory I/O: torn log rows, orphaned temporaries, file modes, the lock, a full disk,
packed logs."""

import errno
import gzip
import lzma
import os
import subprocess
import sys

import pytest
import torch

from agents.errors import UsageError
from agents.files import (
    CsvLog,
    DiskFull,
    RunLock,
    atomic_torch_save,
    atomic_write_json,
    log_bytes,
    pack_logs,
    read_complete_rows,
    remove_orphaned_temporaries,
    unpack_logs,
)

HEADER = ["frame", "episode", "return", "length", "seconds"]


def _log(path, rows, tail=""):
    with open(path, "w", newline="") as f:
        f.write(",".join(HEADER) + "\r\n")
        for row in rows:
            f.write(",".join(map(str, row)) + "\r\n")
        f.write(tail)


@pytest.mark.parametrize(
    "tail",
    [
        "48",  # cut inside the frame field
        "4800,7",  # cut inside the episode field... or after it
        "4800,7,-2",  # cut inside the return field: -2 of -21 would parse
        "4800,7,-21,830,12",  # every field present, but the seconds field may be cut: no newline
    ],
)
def test_a_torn_last_row_is_dropped(tmp_path, tail):
    path = tmp_path / "episodes.csv"
    rows = [[800, 0, -21.0, 830, 1.0], [1600, 1, -20.0, 810, 2.0]]
    _log(path, rows, tail)
    kept = read_complete_rows(path, HEADER)
    assert [r["return"] for r in kept] == ["-21.0", "-20.0"]
    CsvLog.truncate(path, HEADER, lambda r: True)
    assert path.read_text().splitlines()[-1] == "1600,1,-20.0,810,2.0"


def test_a_row_that_does_not_parse_is_never_kept(tmp_path):
    path = tmp_path / "episodes.csv"
    _log(path, [[800, 0, -21.0, 830, 1.0], [1600, 1, "oops", 810, 2.0], [2400, 2, -19, 800]])
    assert [r["episode"] for r in read_complete_rows(path, HEADER)] == ["0"]


def test_orphaned_temporaries_are_removed(tmp_path):
    orphan = tmp_path / ".checkpoint.pt.x1y2.tmp"
    orphan.write_bytes(b"half a checkpoint")
    keep = tmp_path / "checkpoint.pt"
    keep.write_bytes(b"whole")
    assert remove_orphaned_temporaries(tmp_path) == [orphan]
    assert not orphan.exists() and keep.exists()


def test_atomic_writes_keep_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
        atomic_torch_save({"x": torch.zeros(2)}, tmp_path / "b.pt")
    finally:
        os.umask(old)
    for name in ("a.json", "b.pt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_a_full_disk_raises_disk_full_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.pt"
    atomic_torch_save({"step": 1}, target)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    with pytest.raises(DiskFull):
        atomic_torch_save({"step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_the_lock_refuses_a_second_holder_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from agents.files import RunLock; "
            f"RunLock({str(tmp_path)!r}).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError, match=rf"in use by another process \(pid {holder.pid}\)"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path):  # released by the OS when the holder died
        pass


def test_a_lock_on_a_full_disk_raises_disk_full_and_leaves_no_lock_file(tmp_path, monkeypatch):
    """A full disk creates the empty lock file, then cannot write the pid into it."""
    real_write = os.write

    def no_space(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}") == str(tmp_path / ".lock"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(DiskFull):
        RunLock(tmp_path).acquire()
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    with RunLock(tmp_path):  # and nothing blocks the next start
        pass


def test_a_figure_is_saved_whole_or_not_at_all(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from agents.files import atomic_save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    path = atomic_save_figure(fig, tmp_path / "figure.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed
    fig, ax = plt.subplots()
    with pytest.raises(ValueError):  # an unknown format fails inside savefig
        atomic_save_figure(fig, tmp_path / "figure.unknownformat")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]  # no temporary left
    assert not plt.fignum_exists(fig.number)


def test_pack_writes_xz_holding_the_logs_own_bytes_and_unpack_restores_them(tmp_path):
    _log(tmp_path / "episodes.csv", [(6, 0, 0.0, 6, 0.1), (12, 1, 1.0, 6, 0.2)])
    (tmp_path / "losses.csv").write_text("update,loss\n1,0.5\n")
    original = {n: (tmp_path / n).read_bytes() for n in ("episodes.csv", "losses.csv")}

    packed = pack_logs(tmp_path)

    assert sorted(p.name for p in packed) == ["episodes.csv.xz", "losses.csv.xz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episodes.csv.xz", "losses.csv.xz"]
    for name, data in original.items():
        assert lzma.decompress((tmp_path / f"{name}.xz").read_bytes()) == data
        assert log_bytes(tmp_path / name) == data
    assert pack_logs(tmp_path) == []  # packed already: nothing is rewritten
    assert sorted(p.name for p in unpack_logs(tmp_path)) == ["episodes.csv", "losses.csv"]
    assert {n: (tmp_path / n).read_bytes() for n in original} == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episodes.csv", "losses.csv"]


def test_a_log_packed_the_older_way_is_read_and_repacked_as_xz(tmp_path):
    """Runs collected before xz hold ``.gz`` logs: readers take them, and pack converts them
    to ``.xz`` with the same decompressed bytes."""
    _log(tmp_path / "episodes.csv", [(6, 0, 0.0, 6, 0.1)])
    data = (tmp_path / "episodes.csv").read_bytes()
    (tmp_path / "episodes.csv.gz").write_bytes(gzip.compress(data, mtime=0))
    (tmp_path / "episodes.csv").unlink()
    assert log_bytes(tmp_path / "episodes.csv") == data
    assert [r["episode"] for r in read_complete_rows(tmp_path / "episodes.csv", HEADER)] == ["0"]

    assert [p.name for p in pack_logs(tmp_path)] == ["episodes.csv.xz"]
    assert [p.name for p in tmp_path.iterdir()] == ["episodes.csv.xz"]
    assert log_bytes(tmp_path / "episodes.csv") == data


def test_pack_removes_a_leftover_gz_beside_its_xz_and_refuses_one_that_differs(tmp_path):
    """A repack killed between writing ``.xz`` and unlinking ``.gz`` leaves both: the next pack
    removes the ``.gz`` when it holds the same log, and stops when it does not."""
    _log(tmp_path / "episodes.csv", [(6, 0, 0.0, 6, 0.1)])
    data = (tmp_path / "episodes.csv").read_bytes()
    (tmp_path / "episodes.csv.gz").write_bytes(gzip.compress(data, mtime=0))
    pack_logs(tmp_path)
    (tmp_path / "episodes.csv.gz").write_bytes(gzip.compress(data, mtime=0))
    assert pack_logs(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["episodes.csv.xz"]

    (tmp_path / "episodes.csv.gz").write_bytes(gzip.compress(data + b"12,1,1.0,6,0.2\n", mtime=0))
    with pytest.raises(UsageError, match="hold different logs"):
        pack_logs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["episodes.csv.gz", "episodes.csv.xz"]
