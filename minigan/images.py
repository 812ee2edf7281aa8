"""Pictures from training, drawn with Pillow only: sample grids (also with a label beside each
row, e.g. the caption its samples were drawn for), a stack of grids over time, loss curves and
heat maps of matrices (no plotting library needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from . import backend
from .errors import ArgumentError, ShapeError


def to_uint8(images) -> np.ndarray:
    """Images in [-1, 1] (a Tensor or array, (N, C, H, W)) -> uint8 (N, H, W, C) in 0..255."""
    data = getattr(images, "data", images)
    array = backend.as_numpy(data).astype(np.float32)
    if array.ndim != 4:
        raise ValueError(f"to_uint8: expected images of shape (N, C, H, W), got {array.shape}")
    array = np.clip((array + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


def grid(images, nrow: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile N images (N, C, H, W) in [-1, 1] into one picture with ``nrow`` per row
    (default: a square), ``padding`` black pixels between them, each enlarged ``scale`` times."""
    tiles = to_uint8(images)
    n, h, w, c = tiles.shape
    nrow = nrow or max(1, int(np.ceil(np.sqrt(n))))
    rows = int(np.ceil(n / nrow))
    canvas = np.zeros((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), np.uint8)
    for i in range(n):  # one copy per tile, not per pixel
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        canvas[y:y + h, x:x + w] = tiles[i]
    picture = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def save_grid(images, path: str | Path, nrow: int | None = None, scale: int = 2) -> Path:
    """Save a grid of images (see :func:`grid`) as a PNG; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid(images, nrow=nrow, scale=scale).save(path)
    return path


def labelled_grid(images, labels: Sequence[str], ncol: int = 8, padding: int = 2,
                  scale: int = 2) -> Image.Image:
    """Images (N, C, H, W) in [-1, 1] in rows of ``ncol``, each row's label (e.g. the caption
    its images were drawn for) written on its left: ``len(labels)`` must be the number of
    rows, ceil(N / ncol). An RGB picture, black text on white beside the grid."""
    n = len(getattr(images, "data", images))
    rows = -(-n // ncol) if ncol >= 1 else 0
    if ncol < 1 or len(labels) != rows:
        raise ArgumentError(f"labelled_grid: {len(labels)} labels for {n} images in rows of "
                            f"{ncol} ({rows} rows); give one label per row")
    tiles = grid(images, nrow=ncol, padding=padding, scale=scale).convert("RGB")
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = 12 + max((_text_size(measure, str(s))[0] for s in labels), default=0)
    canvas = Image.new("RGB", (left + tiles.width, tiles.height), "white")
    canvas.paste(tiles, (left, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = (tiles.height - padding * scale) / max(rows, 1)
    for r, label in enumerate(labels):
        _, h = _text_size(draw, str(label))
        y = padding * scale + r * row_height + (row_height - padding * scale - h) / 2 - 1
        draw.text((6, int(y)), str(label), fill=(0, 0, 0))
    return canvas


def save_labelled_grid(images, labels: Sequence[str], path: str | Path, ncol: int = 8,
                       scale: int = 2) -> Path:
    """Save :func:`labelled_grid` as a PNG; returns the path."""
    return save_pictures([labelled_grid(images, labels, ncol=ncol, scale=scale)], path)


def stack_with_labels(paths: Sequence[Path], labels: Sequence[str], out: str | Path,
                      max_rows: int = 8) -> Path:
    """Stack saved grid PNGs top to bottom, each with its label on the left (e.g. the step).
    More than ``max_rows`` grids are thinned evenly, keeping the first and the last."""
    if not paths:
        raise ValueError("stack_with_labels: no images to stack")
    if len(paths) > max_rows:
        keep = np.unique(np.linspace(0, len(paths) - 1, max_rows).round().astype(int))
        paths, labels = [paths[i] for i in keep], [labels[i] for i in keep]
    opened = [Image.open(p) for p in paths]
    mode = "RGB" if any(p.mode not in ("L", "1") for p in opened) else "L"   # colour grids stay
    pictures = [p.convert(mode) for p in opened]
    margin = 90
    width = margin + max(p.width for p in pictures)
    height = sum(p.height for p in pictures) + 4 * (len(pictures) - 1)
    white, black = (255, 0) if mode == "L" else ((255, 255, 255), (0, 0, 0))
    canvas = Image.new(mode, (width, height), white)
    draw = ImageDraw.Draw(canvas)
    y = 0
    for picture, label in zip(pictures, labels):
        canvas.paste(picture, (margin, y))
        draw.text((6, y + picture.height // 2 - 6), label, fill=black)
        y += picture.height + 4
    out = Path(out)
    canvas.save(out)
    return out


# ---------------------------------------------------------------------------- loss curves

_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average over ``window`` points (shorter at the start), same length as values."""
    if window <= 1 or len(values) < 2:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (cumulative[idx] - cumulative[lo]) / (idx - lo)


def plot_curves(steps: Sequence[float], series: Mapping[str, Sequence[float]], path: str | Path,
                title: str = "", size: tuple = (720, 400), smooth: int | None = None) -> Path:
    """Draw several curves against ``steps`` as a PNG line chart: axes with tick values,
    a legend, light raw values and a moving average on top (``smooth`` points, default
    about 2% of the run)."""
    return save_pictures([curves_picture(steps, series, title, size, smooth)], path)


def save_pictures(pictures: Sequence[Image.Image], path: str | Path) -> Path:
    """Save pictures stacked top to bottom (e.g. several charts) as one PNG."""
    width = max(p.width for p in pictures)
    canvas = Image.new("RGB", (width, sum(p.height for p in pictures)), "white")
    y = 0
    for picture in pictures:
        canvas.paste(picture, (0, y))
        y += picture.height
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def curves_picture(steps: Sequence[float], series: Mapping[str, Sequence[float]], title: str = "",
                   size: tuple = (720, 400), smooth: int | None = None) -> Image.Image:
    """The chart of :func:`plot_curves` as a Pillow image."""
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    x = np.asarray(steps, np.float64)
    curves = {k: np.asarray(v, np.float64) for k, v in series.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in curves.values()] + [np.zeros(0)])
    if len(x) == 0 or finite.size == 0:
        raise ValueError("plot_curves: nothing to plot")
    y_lo, y_hi = float(np.percentile(finite, 0.5)), float(np.percentile(finite, 99.5))
    y_lo, y_hi = min(y_lo, 0.0), y_hi if y_hi > y_lo else y_lo + 1.0
    x_lo, x_hi = float(x.min()), float(x.max()) if x.max() > x.min() else float(x.min()) + 1.0

    def px(xv, yv):
        xs = left + (np.asarray(xv) - x_lo) / (x_hi - x_lo) * (width - left - right)
        ys = top + (1 - (np.clip(yv, y_lo, y_hi) - y_lo) / (y_hi - y_lo)) * (height - top - bottom)
        return list(zip(xs.tolist(), ys.tolist()))

    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    for frac in np.linspace(0, 1, 5):  # ticks and grid lines
        yv, xv = y_lo + frac * (y_hi - y_lo), x_lo + frac * (x_hi - x_lo)
        (_, ty), = px([x_lo], [yv])
        (tx, _), = px([xv], [y_lo])
        draw.line([left, ty, width - right, ty], fill=(225, 225, 225))
        draw.text((4, ty - 6), f"{yv:.2f}", fill=(0, 0, 0))
        draw.text((tx - 12, height - bottom + 6), f"{xv:.0f}", fill=(0, 0, 0))
    draw.text((width // 2 - 15, height - 16), "step", fill=(0, 0, 0))
    if title:
        draw.text((left, 8), title, fill=(0, 0, 0))
    window = smooth or max(1, len(x) // 50)
    for i, (name, values) in enumerate(curves.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        light = tuple(int(c + (255 - c) * 0.7) for c in colour)
        if window > 1 and len(x) > 1:
            draw.line(px(x, values), fill=light, width=1)
        if len(x) > 1:
            draw.line(px(x, _smooth(values, window)), fill=colour, width=2)
        draw.rectangle([width - right - 120, top + 8 + 16 * i, width - right - 108, top + 18 + 16 * i],
                       fill=colour)
        draw.text((width - right - 102, top + 6 + 16 * i), name, fill=(0, 0, 0))
    return canvas


# ---------------------------------------------------------------------------- heat maps


def _text_size(draw: ImageDraw.ImageDraw, text: str) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text)
    return right - left, bottom - top


def heatmap_picture(matrix, row_labels: Sequence[str] | None = None,
                    col_labels: Sequence[str] | None = None, title: str = "", cell: int = 36,
                    values: bool = True, vmin: float | None = None,
                    vmax: float | None = None) -> Image.Image:
    """A matrix (rows x cols, e.g. attention weights: one row per query, one column per
    key) as a heat map: white at ``vmin``, dark blue at ``vmax`` (default: the matrix's
    smallest and largest values; give 0 and 1 for probabilities, so that two maps compare),
    the row labels on the left, the column labels on top (written upwards), each cell's
    value in it when ``values`` (two decimals). Labels default to the indices."""
    data = backend.as_numpy(getattr(matrix, "data", matrix)).astype(np.float64)
    if data.ndim != 2 or data.size == 0:
        raise ShapeError(f"heatmap: expected a non-empty 2-d matrix, got shape {data.shape}")
    rows, cols = data.shape
    row_labels = [str(r) for r in (range(rows) if row_labels is None else row_labels)]
    col_labels = [str(c) for c in (range(cols) if col_labels is None else col_labels)]
    if len(row_labels) != rows or len(col_labels) != cols:
        raise ArgumentError(f"heatmap: {len(row_labels)} row and {len(col_labels)} column labels "
                         f"for a {rows}x{cols} matrix")
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = 12 + max(_text_size(measure, s)[0] for s in row_labels)
    top = 12 + max(_text_size(measure, s)[0] for s in col_labels) + (20 if title else 0)
    canvas = Image.new("RGB", (left + cols * cell + 8, top + rows * cell + 8), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((6, 4), title, fill=(0, 0, 0))
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    lo, hi = lo if vmin is None else float(vmin), hi if vmax is None else float(vmax)
    span = hi - lo if hi > lo else 1.0
    dark = np.array([8, 48, 107], np.float64)              # a dark blue, as in "Blues"
    for r in range(rows):
        for c in range(cols):
            v = data[r, c]
            t = min(max((v - lo) / span, 0.0), 1.0) if np.isfinite(v) else 0.0
            colour = tuple(int(round(255 + (d - 255) * t)) for d in dark)
            x0, y0 = left + c * cell, top + r * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour,
                           outline=(200, 200, 200))
            if values and cell >= 24:
                text = f"{v:.2f}".replace("0.", ".", 1) if abs(v) < 1 else f"{v:.1f}"
                w, h = _text_size(draw, text)
                draw.text((x0 + (cell - w) // 2, y0 + (cell - h) // 2 - 1), text,
                          fill=(255, 255, 255) if t > 0.55 else (0, 0, 0))
    for r, label in enumerate(row_labels):
        w, h = _text_size(draw, label)
        draw.text((left - 6 - w, top + r * cell + (cell - h) // 2 - 1), label, fill=(0, 0, 0))
    for c, label in enumerate(col_labels):  # drawn sideways, reading upwards
        w, h = _text_size(draw, label)
        strip = Image.new("RGB", (w + 2, h + 4), "white")
        ImageDraw.Draw(strip).text((1, 0), label, fill=(0, 0, 0))
        strip = strip.rotate(90, expand=True)
        canvas.paste(strip, (left + c * cell + (cell - strip.width) // 2,
                             top - 6 - strip.height))
    return canvas


def save_heatmap(matrix, path: str | Path, row_labels: Sequence[str] | None = None,
                 col_labels: Sequence[str] | None = None, title: str = "", cell: int = 36,
                 values: bool = True, vmin: float | None = None,
                 vmax: float | None = None) -> Path:
    """Save :func:`heatmap_picture` of ``matrix`` as a PNG; returns the path."""
    return save_pictures([heatmap_picture(matrix, row_labels, col_labels, title, cell, values,
                                          vmin, vmax)], path)
