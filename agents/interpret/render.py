"""How the figures draw a state or a decoded image, for pixel frames and object channels alike.

Atari frames are pixels: the newest frame of a stack is shown as it is, gray or RGB.

MinAtar states are not pictures but binary object channels on a 10x10 grid (``paddle``, ``ball``,
...). They are drawn as MinAtar's own display draws them: each channel has a fixed colour from
seaborn's ``cubehelix`` palette, the background is black, and a cell shows the colour of the
object in it, the highest channel winning where objects overlap. A decoded key is not binary, so a
cell shows its strongest channel's colour at that channel's intensity: a binary state draws
exactly as MinAtar draws it, and a key reads as "mostly ball here, faintly paddle there".
A legend names the colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import seaborn as sns


def channel_colours(count: int) -> np.ndarray:
    """(count, 3) RGB in [0, 1]: MinAtar's GUI palette, ``sns.color_palette("cubehelix", count)``."""
    return np.asarray(sns.color_palette("cubehelix", count))


@dataclass(frozen=True)
class StateRenderer:
    """Draws observations ``(frame_stack * C, H, W)`` in pixel units [0, 255].

    Attributes:
        frame_stack: frames per observation; the figures show the newest one, or their max.
        channel_names: one frame's object channels (MinAtar), or ``()`` where frames are pixels.
    """

    frame_stack: int
    channel_names: tuple[str, ...] = ()

    @property
    def draws_channels(self) -> bool:
        """Whether frames are object channels drawn in colour, not pixels."""
        return bool(self.channel_names)

    def _frames(self, image) -> np.ndarray:
        image = np.asarray(image, dtype=np.float32)
        return image.reshape(self.frame_stack, image.shape[0] // self.frame_stack, *image.shape[1:])

    def newest(self, image) -> np.ndarray:
        """The newest frame as a picture: (H, W) gray or (H, W, 3) RGB, uint8."""
        return self._picture(self._frames(image)[-1])

    def stack_max(self, image) -> np.ndarray:
        """The channel-wise max over the stacked frames (paper Fig 16's last column), a picture."""
        return self._picture(self._frames(image).max(axis=0))

    def _picture(self, frame: np.ndarray) -> np.ndarray:
        if self.draws_channels:
            return self._channels_to_rgb(frame)
        frame = frame[0] if frame.shape[0] == 1 else frame.transpose(1, 2, 0)
        return np.clip(frame, 0, 255).astype(np.uint8)

    def _channels_to_rgb(self, frame: np.ndarray) -> np.ndarray:
        if frame.shape[0] != len(self.channel_names):
            raise ValueError(
                f"a frame of {frame.shape[0]} channels, but {len(self.channel_names)} names"
            )
        intensity = np.clip(frame / 255.0, 0.0, 1.0)  # (C, H, W)
        # The strongest channel per cell; on ties the highest index, as MinAtar's display.
        strongest = len(intensity) - 1 - intensity[::-1].argmax(axis=0)  # (H, W)
        colours = channel_colours(len(self.channel_names))[strongest]  # (H, W, 3)
        level = np.take_along_axis(intensity, strongest[None], axis=0)[0]  # (H, W)
        return np.round(255 * colours * level[..., None]).astype(np.uint8)

    def show(self, ax, picture: np.ndarray, **kwargs) -> None:
        """Draw a picture from :meth:`newest` or :meth:`stack_max` on ``ax``, without ticks.

        Channel grids are drawn cell by cell (no smoothing), so each cell is one object.
        """
        if picture.ndim == 2:
            kwargs = {"cmap": "gray", "vmin": 0, "vmax": 255, **kwargs}
        if self.draws_channels:
            kwargs.setdefault("interpolation", "nearest")
        ax.imshow(picture, **kwargs)
        ax.set_xticks([])
        ax.set_yticks([])

    def overlay(self, ax, heat: np.ndarray) -> None:
        """Draw a saliency map over a picture already on ``ax``.

        Pixel frames take a uniform wash (as the authors' notebooks draw it); on a channel grid
        each cell's opacity grows with its saliency, so the objects stay readable.
        """
        if not self.draws_channels:
            ax.imshow(heat, cmap="Reds", alpha=0.6)
            return
        peak = float(heat.max())
        alpha = 0.85 * heat / peak if peak > 0 else np.zeros_like(heat)
        ax.imshow(heat, cmap="Reds", alpha=alpha, interpolation="nearest", vmin=0)

    def add_legend(self, fig) -> None:
        """A legend of the channel colours under the figure (nothing for pixel frames)."""
        if not self.draws_channels:
            return
        from matplotlib.patches import Patch

        handles = [
            Patch(facecolor=colour, edgecolor="black", label=name)
            for name, colour in zip(
                self.channel_names, channel_colours(len(self.channel_names)), strict=True
            )
        ]
        fig.legend(
            handles=handles,
            loc="upper center",
            ncol=min(len(handles), 5),
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
            title="object channels (background black)",
            title_fontsize=8,
        )


def renderer_for(env, game: str, frame_stack: int) -> StateRenderer:
    """The renderer for observations of ``env`` (built by :func:`agents.envs.make_env`)."""
    from agents.suites import suite_of

    return StateRenderer(frame_stack, suite_of(game).channel_names(env))
