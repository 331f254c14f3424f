"""A constructed episode log, as the runner writes it, for the report and study tests."""

from pathlib import Path

import numpy as np
import pandas as pd


def write_episode_log(folder: Path, returns, length: int = 100) -> None:
    """``folder/episodes.csv`` with one episode per return, ending every 1,000 frames."""
    n = len(returns)
    pd.DataFrame(
        {
            "frame": np.arange(1, n + 1) * 1000,
            "episode": np.arange(n),
            "return": returns,
            "length": length,
            "seconds": np.arange(n),
        }
    ).to_csv(folder / "episodes.csv", index=False)


def set_field(folder: Path, row: int, column: str, text: str) -> None:
    """Write ``text`` as ``column`` of data row ``row`` (0-based) of ``folder/episodes.csv``, as
    a log would hold it: ``nan`` or ``inf`` as the runner's csv writer prints a float."""
    path = folder / "episodes.csv"
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    fields = lines[row + 1].rstrip("\r\n").split(",")
    fields[header.index(column)] = text
    lines[row + 1] = ",".join(fields) + "\n"
    path.write_text("".join(lines))
