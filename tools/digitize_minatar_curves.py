"""Read Young & Tian's AC(0.8) learning curve off the MinAtar README figure, per game, into
``data/minatar/ac_lambda_curve.csv`` (data/minatar/README.md says what it is and is not).

    .venv/bin/python tools/digitize_minatar_curves.py PATH/TO/learning_curves.gif

The figure is ``img/learning_curves.gif`` of kenjyoung/MinAtar (commit 4241f24, sha256 below;
it is not in this repository and nothing downloads it). Each panel's axes are calibrated from
its own tick marks (a straight-line fit of tick pixel to tick label, so the axis limits need not
be known). At each read point the AC(0.8) line (its colour, ``GREEN``) is found in a five-pixel
column: the value is the centre of its pixel run, the uncertainty half the run's height plus one
pixel. Where another curve is drawn over it, the covering line nearest to the visible AC(0.8)
curve (interpolated) is read instead, and the row says so.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "minatar" / "ac_lambda_curve.csv"
SHA256 = "25ef354c5adb68035c5d9d67d2c7231add1869080ca726d341e5803de284a5e6"
#: The figure's line colours (seaborn "colorblind"): AC(0.8), and the curves that can cover it.
GREEN = (2, 158, 115)
COVERING = {"AC(0)": (213, 94, 0), "DQN without replay": (222, 143, 5)}
#: Per game, the pixel ranges that hold the panel's left, right, top and bottom spines (in the
#: 3038 x 1629 figure), and the y tick labels from bottom to top. The x ticks are 0-5M frames.
PANELS = {
    "MinAtar-Breakout": ((1565, 1572), (2263, 2269), (182, 190), (644, 652), (0, 5, 10, 15)),
    "MinAtar-Freeway": (
        (1199, 1205),
        (1897, 1903),
        (953, 961),
        (1415, 1423),
        (0, 10, 20, 30, 40, 50),
    ),
    "MinAtar-SpaceInvaders": (
        (2292, 2298),
        (2989, 2995),
        (953, 961),
        (1415, 1423),
        (0, 50, 100, 150, 200),
    ),
    "MinAtar-Asterix": ((103, 109), (801, 807), (953, 961), (1415, 1423), (0, 5, 10, 15, 20)),
    "MinAtar-Seaquest": ((612, 618), (1309, 1315), (178, 190), (640, 652), (0, 5, 10, 15, 20)),
}
STEP = 50_000  # MinAtar has no frame skip: frames are agent steps
LAST_STEP = 2_000_000  # the study's longest budget
TOLERANCE = 45  # RGB distance to a line's colour; the lighter bands around the lines lie beyond


def _spine(
    dark: np.ndarray, bounds: tuple[int, int], axis: int, span: tuple[int, int]
) -> list[int]:
    """The pixel lines within ``bounds`` that are dark along most of ``span``."""
    lines = range(bounds[0], bounds[1] + 1)
    counts = [
        dark[span[0] : span[1], i].sum() if axis == 0 else dark[i, span[0] : span[1]].sum()
        for i in lines
    ]
    return [i for i, count in zip(lines, counts, strict=True) if count > 0.8 * max(counts)]


def _centres(pixels: list[int]) -> list[float]:
    """The centre of each run of adjacent pixels."""
    runs = np.split(np.array(pixels), np.nonzero(np.diff(pixels) > 1)[0] + 1)
    return [float(run.mean()) for run in runs]


def _runs(mask: np.ndarray) -> list[np.ndarray]:
    """The row runs (gaps of at most 2 pixels) where any column of ``mask`` is set."""
    rows = np.nonzero(mask.any(axis=1))[0]
    return np.split(rows, np.nonzero(np.diff(rows) > 2)[0] + 1) if len(rows) else []


def read_panel(image: np.ndarray, panel: tuple, steps: range) -> list[dict[str, object]]:
    """One game's AC(0.8) values at ``steps``."""
    left_b, right_b, top_b, bottom_b, labels = panel
    dark = image.sum(axis=2) < 150
    left = _spine(dark, left_b, 0, (top_b[1], bottom_b[0]))
    right = _spine(dark, right_b, 0, (top_b[1], bottom_b[0]))
    top = _spine(dark, top_b, 1, (left_b[1], right_b[0]))
    bottom = _spine(dark, bottom_b, 1, (left_b[1], right_b[0]))
    x0, x1, y0, y1 = max(left) + 1, min(right) - 1, max(top) + 1, min(bottom) - 1
    # Tick marks: short dark lines just outside the left and bottom spines.
    band = dark[y0 - 5 : y1 + 6, min(left) - 14 : min(left) - 3]
    y_ticks = _centres([r + y0 - 5 for r in range(band.shape[0]) if band[r].sum() >= 6])
    band = dark[max(bottom) + 3 : max(bottom) + 14, x0 - 5 : x1 + 6]
    x_ticks = _centres([c + x0 - 5 for c in range(band.shape[1]) if band[:, c].sum() >= 6])
    if len(y_ticks) != len(labels) or len(x_ticks) != 6:
        raise SystemExit(
            f"error: found {len(y_ticks)} y and {len(x_ticks)} x ticks, not the figure's"
        )
    per_pixel, y_offset = np.polyfit(sorted(y_ticks, reverse=True), labels, 1)
    x_slope, x_offset = np.polyfit(x_ticks, range(6), 1)
    box = image[y0 : y1 + 1, x0 : x1 + 1]

    def near(colour: tuple[int, int, int]) -> np.ndarray:
        return np.linalg.norm(box - np.array(colour), axis=2) < TOLERANCE

    green, covering = near(GREEN), np.logical_or.reduce([near(c) for c in COVERING.values()])

    def column(step: int) -> slice:
        centre = int(round((step / 1e6 - x_offset) / x_slope)) - x0
        return slice(max(centre - 2, 0), centre + 3)

    visible = {}
    for step in steps:
        if runs := _runs(green[:, column(step)]):
            line = max(runs, key=len)
            visible[step] = line
    if not visible:
        raise SystemExit("error: no AC(0.8) pixel found: is this the MinAtar figure?")
    known = sorted(visible)
    rows = []
    for step in steps:
        if step in visible:
            line, read = visible[step], "visible"
        else:
            guess = np.interp(step, known, [visible[k].mean() for k in known])
            candidates = _runs(covering[:, column(step)])
            if not candidates:
                raise SystemExit(f"error: at step {step}, AC(0.8) is hidden and no line covers it")
            line = min(candidates, key=lambda r: abs(r.mean() - guess))
            read = "under AC(0) or DQN without replay"
        centre, half = (line.min() + line.max()) / 2 + y0, (line.max() - line.min()) / 2
        rows.append(
            {
                "step": step,
                "return": round(float(per_pixel * centre + y_offset), 2),
                "uncertainty": round(float((half + 1) * abs(per_pixel)), 2),
                "read": read,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("figure", type=Path, help="kenjyoung/MinAtar img/learning_curves.gif")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--last-step",
        type=int,
        default=LAST_STEP,
        help="read to this step (at most 5M, the figure's end; 4,950,000 for the README's check)",
    )
    args = parser.parse_args()
    if not args.figure.is_file():
        print(f"error: {args.figure} does not exist", file=sys.stderr)
        return 2
    if hashlib.sha256(args.figure.read_bytes()).hexdigest() != SHA256:
        print(
            f"error: {args.figure} is not the figure this reads (sha256 differs)", file=sys.stderr
        )
        return 2
    if not STEP <= args.last_step <= 5_000_000:
        print("error: --last-step must lie within the figure's 5M frames", file=sys.stderr)
        return 2
    steps = range(STEP, args.last_step + 1, STEP)
    image = np.asarray(Image.open(args.figure).convert("RGB")).astype(int)
    rows = [
        {"game": game} | row
        for game, panel in PANELS.items()
        for row in read_panel(image, panel, steps)
    ]
    tmp = args.out.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
