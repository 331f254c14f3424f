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
