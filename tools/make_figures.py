"""Draw the pictures of docs/ (docs/figures/*.png) from minigan itself, with Pillow only.

    python tools/make_figures.py              # rewrites docs/figures/
    python tools/make_figures.py --out DIR    # somewhere else (the tests compare the two)

Nothing is hard-coded that minigan can tell: the graphs are read from real tensors through
``minigan.autograd.iter_graph`` and each Function's inputs and outputs, the backward order is
recorded while ``backward()`` runs, and the im2col / col2im matrices are what the fast
kernel's ``_im2col`` / ``_col2im`` (minigan/ops/conv.py) return for a 4x4 image.

    graph.png            the graph of a neuron, tanh(sum(w * x) + b)
    backward_order.png   the order backward runs the functions of a graph with a diamond
    im2col.png           im2col of a 4x4 image, 3x3 kernel: stride 1, and stride 2 padding 1
    col2im.png           col2im's overlapping adds: how many windows cover each pixel

Each picture is drawn at twice its size and scaled down (smooth edges and text), then
stored with a small palette (tens of KB). The PNG's "Software" text names the Pillow
version that drew it: other versions may place text a pixel apart.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # draw this checkout's minigan, not an installed one

import minigan as mg  # noqa: E402
from minigan.autograd import iter_graph  # noqa: E402
from minigan.ops import conv as conv_ops  # noqa: E402

SCALE = 2  # drawn at twice the size, then scaled down
INK, MUTED, GRID, PAPER = "#222222", "#6b6b6b", "#c8c8c8", "#ffffff"
LEAF, TENSOR, FUNCTION = "#dbe8f6", "#f2f2f2", "#fde3c4"
LEAF_EDGE, TENSOR_EDGE, FUNCTION_EDGE = "#4c78a8", "#9a9a9a", "#e08a1e"
WINDOWS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"]  # one colour per output position
ORDER = "#c0392b"                                         # the backward order's discs


# ============================================================================ drawing


class Canvas:
    """A white picture; coordinates are in final pixels (drawn SCALE times larger)."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (width * SCALE, height * SCALE), PAPER)
        self.draw = ImageDraw.Draw(self.image)

    def font(self, size: int):
        return ImageFont.load_default(size=size * SCALE)

    def text(self, xy, s: str, size: int = 14, fill: str = INK, anchor: str = "mm") -> None:
        x, y = xy
        self.draw.text((x * SCALE, y * SCALE), s, font=self.font(size), fill=fill, anchor=anchor)

    def box(self, x0, y0, x1, y1, fill=None, outline=INK, width: int = 1, radius: int = 0) -> None:
        coords = [x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE]
        if radius:
            self.draw.rounded_rectangle(coords, radius * SCALE, fill=fill, outline=outline,
                                        width=width * SCALE)
        else:
            self.draw.rectangle(coords, fill=fill, outline=outline, width=width * SCALE)

    def ellipse(self, x0, y0, x1, y1, fill=None, outline=INK, width: int = 1) -> None:
        self.draw.ellipse([x0 * SCALE, y0 * SCALE, x1 * SCALE, y1 * SCALE], fill=fill,
                          outline=outline, width=width * SCALE)

    def arrow(self, *points, fill: str = MUTED, width: int = 2, head: int = 9) -> None:
        """A line through ``points`` with an arrowhead at the last one."""
        (x0, y0), (x1, y1) = points[-2], points[-1]
        length = max(float(np.hypot(x1 - x0, y1 - y0)), 1e-9)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        bx, by = x1 - ux * head, y1 - uy * head               # the base of the head
        line = [(x * SCALE, y * SCALE) for x, y in points[:-1]] + [(bx * SCALE, by * SCALE)]
        self.draw.line(line, fill=fill, width=width * SCALE, joint="curve")
        wing = head * 0.45
        left, right = (bx - uy * wing, by + ux * wing), (bx + uy * wing, by - ux * wing)
        self.draw.polygon([(x * SCALE, y * SCALE) for x, y in ((x1, y1), left, right)], fill=fill)

    def save(self, path: Path) -> None:
        small = self.image.resize((self.image.width // SCALE, self.image.height // SCALE),
                                  Image.LANCZOS)
        info = PngInfo()
        info.add_text("Software", f"tools/make_figures.py, Pillow {PIL.__version__}")
        small.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
             .save(path, optimize=True, pnginfo=info)


# ============================================================================ graphs


def graph_of(root: mg.Tensor) -> tuple[dict, list]:
    """The graph that made ``root``, read from minigan: nodes {key: (kind, object)} for
    every Function and tensor, and edges (from key, to key) in the forward direction."""
    nodes, edges = {}, []
    for f in iter_graph(root):
        nodes[("f", id(f))] = ("function", f)
        for x in f.inputs:
            nodes[("t", id(x))] = ("tensor", x)
            edges.append((("t", id(x)), ("f", id(f))))
        for ref in f._output_refs:
            y = ref()
            if y is not None:
                nodes[("t", id(y))] = ("tensor", y)
                edges.append((("f", id(f)), ("t", id(y))))
    return nodes, edges


def layers_of(nodes: dict, edges: list) -> dict:
    """A column for every node: a Function at 2 * generation + 1 (its generation is its
    inputs' largest), its outputs one further (theirs is one more); a leaf just before the
    first Function that uses it (not far left with a long edge)."""
    layer = {}
    for key, (kind, obj) in nodes.items():
        if kind == "function":
            layer[key] = 2 * obj.generation + 1
        elif obj.creator is not None:
            layer[key] = 2 * obj.generation
    for key, (kind, obj) in nodes.items():
        if key not in layer:
            layer[key] = min(layer[b] for a, b in edges if a == key) - 1
    return layer


def place(nodes: dict, edges: list, layer: dict, width: int, height: int, top: int) -> dict:
    """(x, y) centres: columns (``layer``) left to right; within a column, nodes sorted by the
    mean height of their predecessors (fewer crossings) and spread around the middle."""
    first, last = min(layer.values()), max(layer.values())
    step_x = (width - 140) / max(last - first, 1)
    where: dict = {}
    for column in range(first, last + 1):
        members = [k for k in nodes if layer[k] == column]
        parents = {k: [where[a][1] for a, b in edges if b == k and a in where] for k in members}
        members.sort(key=lambda k: np.mean(parents[k]) if parents[k] else 0.0)
        middle, gap = top + (height - top) / 2, 82
        for i, key in enumerate(members):
            offset = (i - (len(members) - 1) / 2) * gap
            where[key] = (70 + (column - first) * step_x, middle + offset)
    return where


def tensor_label(t: mg.Tensor) -> tuple[str, str]:
    """(name, shape); a constant (a number the op wrapped) is named by its value."""
    shape = "(" + ", ".join(str(n) for n in t.shape) + ("," if len(t.shape) == 1 else "") + ")"
    if t.name is None and t.creator is None and not t.requires_grad and t.data.size == 1:
        return f"{t.item():g}", "constant"
    return (t.name or ""), shape


HALF = {"function": (40, 21), "tensor": (36, 21)}  # half width and height of a node


def _border(kind: str, centre, towards) -> tuple:
    """Where the segment from a node's centre towards a point leaves the node's outline."""
    (x, y), (tx, ty) = centre, towards
    dx, dy = tx - x, ty - y
    w, h = HALF[kind]
    if kind == "function":  # an ellipse
        t = 1.0 / float(np.hypot(dx / w, dy / h))
    else:                   # a box
        t = min(w / abs(dx) if dx else np.inf, h / abs(dy) if dy else np.inf)
    return x + t * dx, y + t * dy


def draw_graph(canvas: Canvas, nodes: dict, edges: list, layer: dict, where: dict,
               badges: dict | None = None) -> None:
    """Tensors as boxes (leaves that require grad blue), Functions as orange ellipses, arrows
    forward; an edge that skips columns runs below the picture. ``badges`` {function key:
    (number, note)}: a red numbered disc on the Function and a note under its name."""
    low = max(y for _, y in where.values()) + 48
    for a, b in edges:
        if layer[b] - layer[a] > 2:  # around the nodes in between
            (xa, ya), (xb, yb) = where[a], where[b]
            canvas.arrow((xa, ya + HALF[nodes[a][0]][1]), (xa, low), (xb, low),
                         (xb, yb + HALF[nodes[b][0]][1] + 1))
        else:
            canvas.arrow(_border(nodes[a][0], where[a], where[b]),
                         _border(nodes[b][0], where[b], where[a]))
    for key, (kind, obj) in nodes.items():
        x, y = where[key]
        w, h = HALF[kind]
        if kind == "function":
            canvas.ellipse(x - w, y - h, x + w, y + h, fill=FUNCTION, outline=FUNCTION_EDGE,
                           width=2)
            if badges and key in badges:
                number, note = badges[key]
                canvas.text((x, y - 7), type(obj).__name__, 14)
                canvas.text((x, y + 9), note, 11, fill=MUTED)
                cx, cy = x + w - 6, y - h - 2
                canvas.ellipse(cx - 11, cy - 11, cx + 11, cy + 11, fill=ORDER, outline=ORDER)
                canvas.text((cx, cy), str(number), 13, fill=PAPER)
            else:
                canvas.text((x, y), type(obj).__name__, 14)
        else:
            leaf = obj.creator is None and obj.requires_grad
            canvas.box(x - w, y - h, x + w, y + h, fill=LEAF if leaf else TENSOR,
                       outline=LEAF_EDGE if leaf else TENSOR_EDGE, width=2, radius=7)
            name, shape = tensor_label(obj)
            if name:
                canvas.text((x, y - 8), name, 14)
                canvas.text((x, y + 9), shape, 11, fill=MUTED)
            else:
                canvas.text((x, y), shape, 12, fill=MUTED)


def _named(t: mg.Tensor, name: str) -> mg.Tensor:
    t.name = name
    return t


def figure_graph(out: Path) -> None:
    """The graph of a neuron, y = tanh(sum(w * x) + b), as the engine records it."""
    x = _named(mg.tensor([0.5, -1.0, 2.0], requires_grad=True), "x")
    w = _named(mg.tensor([0.1, 0.2, -0.3], requires_grad=True), "w")
    b = _named(mg.tensor(0.4, requires_grad=True), "b")
    p = _named(w * x, "p")
    s = _named(p.sum(), "s")
    z = _named(s + b, "z")
    y = _named(mg.functional.tanh(z), "y")
    nodes, edges = graph_of(y)
    canvas = Canvas(1000, 300)
    canvas.text((24, 24), "y = tanh(sum(w * x) + b): the graph minigan records", 16, anchor="lm")
    canvas.text((24, 46), "boxes: tensors (blue: leaves that require grad); orange: the Function "
                "that made the next tensor (its creator)", 12, fill=MUTED, anchor="lm")
    layer = layers_of(nodes, edges)
    draw_graph(canvas, nodes, edges, layer, place(nodes, edges, layer, 1000, 300, 60))
    canvas.save(out / "graph.png")


def figure_backward_order(out: Path) -> None:
    """A graph with a diamond (a feeds c and d), and the order backward runs its Functions,
    recorded by wrapping each Function's backward while ``loss.backward()`` runs."""
    x = _named(mg.tensor([0.5, 1.0], requires_grad=True), "x")
    a = _named(x * 2.0, "a")
    b = _named(mg.exp(x), "b")
    c = _named(a + b, "c")
    d = _named(c * a, "d")
    loss = _named(d.sum(), "loss")
    nodes, edges = graph_of(loss)
    layer = layers_of(nodes, edges)              # before backward() frees the graph
    where = place(nodes, edges, layer, 1000, 330, 80)
    order: list = []
    for key, (kind, f) in nodes.items():
        if kind == "function":
            def traced(*grads, f=f, key=key, run=f.backward):
                order.append(key)
                return run(*grads)
            f.backward = traced  # the engine calls f.backward: an instance attribute wins
    functions = {k: f for k, (kind, f) in nodes.items() if kind == "function"}
    generations = {k: f.generation for k, f in functions.items()}
    loss.backward()
    badges = {k: (i + 1, f"gen {generations[k]}") for i, k in enumerate(order)}
    canvas = Canvas(1000, 360)
    canvas.text((24, 24), "backward() runs the Functions from the highest generation down "
                "(red: the order they ran in)", 16, anchor="lm")
    canvas.text((24, 46), "a heap keyed on -generation: the Mul that made a runs only after both "
                "users of a (Add, and the Mul that made d) have added", 12, fill=MUTED, anchor="lm")
    canvas.text((24, 64), "their part of a's gradient; a Function's generation is the largest of "
                "its inputs' (leaves: 0)", 12, fill=MUTED, anchor="lm")
    draw_graph(canvas, nodes, edges, layer, where, badges)
    canvas.save(out / "backward_order.png")


# ============================================================================ im2col, col2im


def _geometry(stride: int, padding: int) -> conv_ops._Geometry:
    """A 3x3 kernel over a 4x4 image, as ops/conv.py describes a convolution."""
    o = conv_ops._conv_out(4, 3, stride, padding, 1)
    return conv_ops._Geometry(4, 4, o, o, 3, 3, (stride, stride), (padding, padding), (1, 1), 1)


def _grid(canvas: Canvas, x0: float, y0: float, values, cell: int, fills=None, inks=None,
          size: int = 13) -> None:
    """A matrix of numbers drawn as cells (``fills``, ``inks``: a colour per cell, or None;
    a NaN is an empty cell)."""
    rows, cols = values.shape
    for i in range(rows):
        for j in range(cols):
            canvas.box(x0 + j * cell, y0 + i * cell, x0 + (j + 1) * cell, y0 + (i + 1) * cell,
                       fill=fills[i][j] if fills is not None else PAPER, outline=GRID)
            if not np.isnan(values[i, j]):
                canvas.text((x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell), f"{values[i, j]:g}",
                            size, fill=inks[i][j] if inks is not None else INK)


def _tint(colour: str, amount: float = 0.78) -> str:
    """``colour`` mixed with white (a pale fill behind dark text)."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    mixed = (rgb + (255 - rgb) * amount).round().astype(int)
    return "#" + "".join(f"{v:02x}" for v in mixed)


def _title(g: conv_ops._Geometry) -> str:
    pad = g.P[0]
    return f"stride {g.S[0]}, " + (f"padding {pad}" if pad else "no padding")


def _padded_image(pad: int) -> np.ndarray:
    """The 4x4 image 1..16 with ``pad`` rings of zeros."""
    return np.pad(np.arange(1, 17, dtype=np.float64).reshape(4, 4), pad)


def _is_padding(i: int, j: int, pad: int) -> bool:
    return not (pad <= i < 4 + pad and pad <= j < 4 + pad)


def figure_im2col(out: Path) -> None:
    """For each output position, the window of the (padded) image it reads, and the rows of
    the matrix that im2col (ops/conv.py) makes of them."""
    image = np.arange(1, 17, dtype=np.float64).reshape(1, 1, 4, 4)
    canvas = Canvas(920, 690)
    canvas.text((24, 24), "im2col: one row per output position, one column per kernel tap", 16,
                anchor="lm")
    canvas.text((24, 46), "x is 1 channel, 4x4 (values 1..16), the kernel 3x3: row (i, j) holds "
                "the 9 pixels under output (i, j)'s window, zeros where it covers padding",
                12, fill=MUTED, anchor="lm")
    top = 96
    for stride, pad in ((1, 0), (2, 1)):
        g = _geometry(stride, pad)
        cols = np.asarray(conv_ops._im2col(image, g))          # (OH*OW, 9), as the kernel makes it
        shown, cell = _padded_image(pad), 20
        side = shown.shape[0] * cell
        canvas.text((40, top - 20), f"{_title(g)}: output {g.OH}x{g.OW}", 14, anchor="lm")
        for k in range(g.OH * g.OW):                            # one small image per window
            oi, oj = divmod(k, g.OW)
            x0, y0 = 40 + oj * (side + 16), top + oi * (side + 22)
            inside = {(oi * stride + a, oj * stride + b) for a in range(3) for b in range(3)}
            fills = [[_tint(WINDOWS[k]) if (i, j) in inside else
                      ("#eeeeee" if _is_padding(i, j, pad) else PAPER)
                      for j in range(shown.shape[1])] for i in range(shown.shape[0])]
            inks = [[INK if (i, j) in inside else "#9a9a9a" for j in range(shown.shape[1])]
                    for i in range(shown.shape[0])]
            _grid(canvas, x0, y0, shown, cell, fills, inks, size=10)
            canvas.box(x0 + oj * stride * cell, y0 + oi * stride * cell,
                       x0 + (oj * stride + 3) * cell, y0 + (oi * stride + 3) * cell,
                       outline=WINDOWS[k], width=2)
            canvas.text((x0 + side / 2, y0 + side + 9), f"output ({oi}, {oj})", 11, WINDOWS[k])
        left, mcell = 40 + 2 * side + 16 + 110, 36
        middle = top + (2 * side + 22) / 2
        canvas.arrow((left - 95, middle), (left - 52, middle))
        canvas.text((left - 74, middle - 14), "im2col", 12, MUTED)
        mtop = middle - 2 * mcell
        _grid(canvas, left, mtop, cols, mcell, [[_tint(WINDOWS[r])] * 9 for r in range(len(cols))])
        for r in range(len(cols)):
            canvas.text((left - 8, mtop + (r + 0.5) * mcell), f"({r // g.OW},{r % g.OW})", 11,
                        WINDOWS[r], "rm")
        for c in range(9):
            canvas.text((left + (c + 0.5) * mcell, mtop + 4 * mcell + 11), f"{c // 3},{c % 3}",
                        10, MUTED)
        canvas.text((left + 4.5 * mcell, mtop + 4 * mcell + 28), "columns: the tap (kh, kw)", 11,
                    MUTED)
        canvas.text((left + 9 * mcell + 16, middle - 8), "y = cols @ w.reshape(9)", 12, INK, "lm")
        canvas.text((left + 9 * mcell + 16, middle + 10), "(one GEMM)", 11, MUTED, "lm")
        top += 2 * side + 22 + 90
    canvas.save(out / "im2col.png")


def figure_col2im(out: Path) -> None:
    """col2im (ops/conv.py) of a matrix of ones: every window adds 1 to each pixel under it."""
    canvas = Canvas(920, 400)
    canvas.text((24, 24), "col2im adds every row back into its window: where windows overlap, "
                "the adds pile up", 16, anchor="lm")
    canvas.text((24, 46), "col2im of a matrix of ones: each pixel counts the windows that "
                "cover it, so its gradient is the sum of that many terms", 12, fill=MUTED,
                anchor="lm")
    for panel, (stride, pad) in enumerate(((1, 0), (2, 1))):
        g = _geometry(stride, pad)
        counts = np.asarray(conv_ops._col2im(np.ones((g.OH * g.OW, 9)), 1, 1, g))[0, 0]
        left, top, cell = 60 + panel * 450, 110, 44
        canvas.text((left, top - 30), f"{_title(g)}: {g.OH * g.OW} windows of 3x3", 14, anchor="lm")
        n = 4 + 2 * pad
        shades = [[None] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                if _is_padding(i, j, pad):
                    shades[i][j] = "#eeeeee"
                else:
                    shades[i][j] = _tint(WINDOWS[0], 1.0 - 0.2 * counts[i - pad, j - pad])
        shown = np.full((n, n), np.nan)
        shown[pad:pad + 4, pad:pad + 4] = counts
        inks = [[PAPER if shown[i, j] >= 3 else INK for j in range(n)] for i in range(n)]
        _grid(canvas, left, top, shown, cell, shades, inks, size=16)
        for k in range(g.OH * g.OW):
            oi, oj = divmod(k, g.OW)
            inset = 3 + 2 * k
            x0, y0 = left + oj * stride * cell, top + oi * stride * cell
            canvas.box(x0 + inset, y0 + inset, x0 + 3 * cell - inset, y0 + 3 * cell - inset,
                       outline=WINDOWS[k], width=2, radius=5)
        if pad:
            canvas.text((left + n * cell / 2, top + n * cell + 14),
                        "grey: the padding ring, whose adds col2im drops", 11, MUTED)
    canvas.save(out / "col2im.png")


FIGURES = {"graph.png": figure_graph, "backward_order.png": figure_backward_order,
           "im2col.png": figure_im2col, "col2im.png": figure_col2im}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures",
                        help="the folder to write into (default: docs/figures)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(args.out)
        print(f"wrote {args.out / name} ({(args.out / name).stat().st_size / 1e3:.0f} KB)")


if __name__ == "__main__":
    main()
