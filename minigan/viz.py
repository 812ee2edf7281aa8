"""The graph viewer: the ops that made a tensor, as an indented tree or as Graphviz DOT.

    import minigan as mg
    print(mg.viz.tree(loss, params=dict(model.named_parameters())))
    mg.viz.render(loss, "graph.svg")              # needs Graphviz's ``dot`` program

Every op node shows the op, the shape and dtype of what it made; every leaf shows its name
(from ``params``, or the tensor's own ``name``), shape, dtype and whether it requires grad.
An op used by several others (a shared subgraph: the discriminator's logits feeding
both halves of the loss) is drawn once; later uses refer to it by its ``[#k]`` tag.

``checks`` (from :func:`minigan.graphcheck.check_graph`, or ``gradcheck=True``) annotates
every op with a float64 finite-difference check of its backward (see that module).

The graph must still be alive: ``backward()`` frees it (each op drops its inputs). Build
the view before calling backward, or pass ``retain_graph=True`` to it; an op whose graph
was freed is shown as such.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .autograd import Function, Tensor
from .errors import ArgumentError, DTypeError, MissingToolError

FORMATS = ("png", "svg", "pdf")
FREED = "graph freed by backward: build the view before it, or pass retain_graph=True"
INSTALL_GRAPHVIZ = ("install Graphviz: apt-get install graphviz (Debian, Ubuntu), "
                    "brew install graphviz (macOS), conda install graphviz")


# ---------------------------------------------------------------------------- the graph


def _roots(roots: Any, op: str) -> list[tuple[str | None, Tensor]]:
    """A Tensor, a sequence of them, or a mapping name -> Tensor, as (name, tensor) pairs."""
    if isinstance(roots, Tensor):
        pairs = [(None, roots)]
    elif isinstance(roots, Mapping):
        pairs = [(str(k), v) for k, v in roots.items()]
    elif isinstance(roots, (list, tuple)):
        pairs = [(None, v) for v in roots]
    else:
        raise DTypeError(f"{op}: expected a Tensor, a list of Tensors or a dict of them, "
                         f"got {type(roots).__name__}")
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise DTypeError(f"{op}: {name or 'root'} must be a Tensor, got {type(t).__name__}")
    if not pairs:
        raise ArgumentError(f"{op}: no tensor given")
    return pairs


def _inputs(f: Function) -> tuple:
    return () if f._released else f.inputs


def _needed(f: Function, i: int) -> bool:
    """Whether op ``f`` was to compute a gradient for its input ``i`` (recorded when it ran:
    a leaf's requires_grad may have changed since, as a frozen discriminator's does)."""
    return bool(f.needs_input_grad[i])


def _output_index(f: Function, t: Tensor) -> tuple[int, int]:
    """(which output of ``f`` the tensor ``t`` is, how many outputs ``f`` has)."""
    refs = getattr(f, "_output_refs", ())
    for k, ref in enumerate(refs):
        if ref() is t:
            return k, len(refs)
    return 0, max(1, len(refs))


def functions(roots: Any, op: str = "functions") -> list[Function]:
    """Every op in the graph below ``roots`` (freed ones too), each once, roots first."""
    pairs = _roots(roots, op)
    seen: set[int] = set()
    found: list[Function] = []
    stack = [t.creator for _, t in reversed(pairs) if t.creator is not None]
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        found.append(f)
        stack.extend(x.creator for x in reversed(_inputs(f)) if x.creator is not None)
    return found


def _uses(pairs: list) -> dict[int, int]:
    """How many times each op is reached (as a root or an input), for the shared tags."""
    uses: dict[int, int] = {}
    stack = [t.creator for _, t in pairs if t.creator is not None]
    while stack:
        f = stack.pop()
        uses[id(f)] = uses.get(id(f), 0) + 1
        if uses[id(f)] == 1:
            stack.extend(x.creator for x in _inputs(f) if x.creator is not None)
    return uses


def _leaf_names(params: Mapping[str, Tensor] | None) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise DTypeError(f"viz: params must be a dict name -> Tensor (e.g. "
                         f"dict(model.named_parameters())), got {type(params).__name__}")
    return {id(t): str(name) for name, t in params.items()}


def _shape(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _leaf_label(t: Tensor, names: dict[int, str]) -> str:
    name = names.get(id(t)) or t.name
    if name is None:
        if not t.requires_grad and t.data.size == 1:
            value = np.asarray(t.numpy()).reshape(()).item()
            name = f"constant {value:g}" if isinstance(value, float) else f"constant {value}"
        else:
            name = "tensor"
    return name


def _checks(pairs: list, checks: Mapping | None, gradcheck: bool) -> Mapping | None:
    """The checks to draw: those given, or with ``gradcheck=True`` new ones."""
    if gradcheck and checks is None:
        from .graphcheck import check_graph
        return check_graph([t for _, t in pairs])
    return checks


def _check_text(checks: Mapping | None, f: Function) -> str:
    if checks is None or f not in checks:
        return ""
    return checks[f].describe()


# ---------------------------------------------------------------------------- tree


def tree(roots: Any, params: Mapping[str, Tensor] | None = None, checks: Mapping | None = None,
         gradcheck: bool = False) -> str:
    """The graph that made ``roots`` (a Tensor, a list, or a dict name -> Tensor) as an
    indented tree, one line per op or leaf: ``op  (shape) dtype``, leaves with their name
    and ``requires grad`` / ``no grad``. ``params`` names leaves (e.g.
    ``dict(model.named_parameters())``); ``checks`` or ``gradcheck=True`` adds each op's
    finite-difference check (minigan/graphcheck.py).

    >>> import minigan as mg
    >>> a = mg.ones(2, 3, requires_grad=True)
    >>> print(mg.viz.tree((a * 2).sum(), params={"a": a}))
    sum  () float32
    └── mul  (2, 3) float32
        ├── a  (2, 3) float32  requires grad
        └── constant 2  () float32  no grad
    """
    pairs = _roots(roots, "tree")
    names = _leaf_names(params)
    checks = _checks(pairs, checks, gradcheck)
    uses = _uses(pairs)
    tags: dict[int, int] = {}      # id(f) -> k of its [#k] tag (ops reached more than once)
    shown: set[int] = set()
    lines: list[str] = []
    # an explicit stack (no recursion: graphs can be thousands of ops deep)
    stack = [(t, "", "", root_name, t.requires_grad) for root_name, t in reversed(pairs)]
    while stack:
        t, lead, child_lead, root_name, needed = stack.pop()
        prefix = lead + (f"{root_name}: " if root_name else "")
        f = t.creator
        if f is None:
            flag = "requires grad" if needed else "no grad"
            lines.append(f"{prefix}{_leaf_label(t, names)}  {_shape(t)}  {flag}")
            continue
        k, n = _output_index(f, t)
        label = f.name + (f" (output {k} of {n})" if n > 1 else "")
        if uses.get(id(f), 0) > 1:
            tag = tags.setdefault(id(f), len(tags) + 1)
            label += f" [#{tag}]"
        if id(f) in shown:
            lines.append(f"{prefix}{label}  {_shape(t)}  (shown above)")
            continue
        shown.add(id(f))
        extra = f"  ({FREED})" if f._released else ""
        check = _check_text(checks, f)
        lines.append(f"{prefix}{label}  {_shape(t)}{extra}" + (f"  [{check}]" if check else ""))
        inputs = _inputs(f)
        for i in reversed(range(len(inputs))):
            last = i == len(inputs) - 1
            stack.append((inputs[i], child_lead + ("└── " if last else "├── "),
                          child_lead + ("    " if last else "│   "), None, _needed(f, i)))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- DOT


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_COLOURS = {"leaf": "#cfe2f3", "constant": "#ffffff", "op": "#eeeeee", "root": "#d9ead3",
            "ok": "#d9ead3", "FAIL": "#f4cccc", "skipped": "#fff2cc"}


class Dot(str):
    """Graphviz DOT source (a ``str``) that can :meth:`save` and :meth:`render` itself."""

    def save(self, path: str | Path) -> Path:
        """Write the DOT text to ``path``; returns it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(self) + "\n")
        return path

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Draw the graph into ``path`` (.png, .svg or .pdf; ``format`` overrides the
        suffix) with Graphviz's ``dot``; ``path`` ending in .dot only saves the text.

        The DOT text is always written first, beside ``path`` with the suffix .dot, so
        that without Graphviz the graph is kept: then :class:`~minigan.errors.MissingToolError`
        says so and how to install Graphviz."""
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt == "dot":
            return self.save(path)
        if fmt not in FORMATS:
            raise ArgumentError(f"render: {path}: unknown format {fmt!r} (use a path ending "
                                f"in .png, .svg, .pdf or .dot, or format=)")
        source = self.save(path.with_suffix(".dot"))
        program = shutil.which("dot")
        if program is None:
            raise MissingToolError(
                f"render: drawing {path} needs Graphviz's 'dot' program, which is not on PATH; "
                f"the graph was written as DOT text to {source} (draw it later with: "
                f"dot -T{fmt} {source} -o {path}); {INSTALL_GRAPHVIZ}")
        result = subprocess.run([program, f"-T{fmt}", str(source), "-o", str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0:  # e.g. a Graphviz built without that format
            raise ArgumentError(f"render: dot could not draw {path} from {source} "
                                f"(exit {result.returncode}): {result.stderr.strip()}")
        return path


def to_dot(roots: Any, params: Mapping[str, Tensor] | None = None,
           checks: Mapping | None = None, gradcheck: bool = False) -> Dot:
    """The graph that made ``roots`` as Graphviz DOT text (a :class:`Dot`: a ``str`` with
    ``save`` and ``render``). Leaves are ellipses (blue when they require grad), ops boxes,
    roots green; with ``checks`` (or ``gradcheck=True``) each op is green (its backward
    passed a float64 finite-difference check), red (failed) or yellow (not checked), and
    shows the relative error. Edges from inputs that need no gradient are dashed."""
    pairs = _roots(roots, "to_dot")
    names = _leaf_names(params)
    checks = _checks(pairs, checks, gradcheck)
    ids: dict[int, str] = {}
    nodes: list[str] = []
    ops: list[Function] = []
    root_names: dict[int, list] = {}
    for name, t in pairs:
        key = id(t.creator) if t.creator is not None else id(t)
        root_names.setdefault(key, []).append(name)

    def node(t: Tensor) -> tuple[str, bool]:
        """The id of t's node (its creator's, for an op output); True when new."""
        key = id(t.creator) if t.creator is not None else id(t)
        if key in ids:
            return ids[key], False
        ids[key] = f"n{len(ids)}"
        return ids[key], True

    stack = [t for _, t in reversed(pairs)]
    while stack:
        t = stack.pop()
        nid, new = node(t)
        if not new:
            continue
        f = t.creator
        root = root_names.get(id(f) if f is not None else id(t))
        heading = "".join(f"{n}\n" for n in (root or []) if n)
        if f is None:
            label = heading + f"{_leaf_label(t, names)}\n{_shape(t)}"
            colour = _COLOURS["root" if root else "leaf" if t.requires_grad else "constant"]
            nodes.append(f"  {nid} [label={_quote(label)}, shape=ellipse, "
                         f"fillcolor={_quote(colour)}];")
            continue
        shapes = _op_shapes(f, t)
        label = heading + f"{f.name}\n{shapes}"
        if f._released:
            label += "\n(freed by backward)"
        colour = _COLOURS["root" if root else "op"]
        check = None if checks is None else checks.get(f)
        if check is not None:
            label += "\n" + check.describe()
            colour = _COLOURS[check.status]
        extra = ", penwidth=2" if root else ""
        nodes.append(f"  {nid} [label={_quote(label)}, fillcolor={_quote(colour)}{extra}];")
        stack.extend(reversed(_inputs(f)))
        ops.append(f)
    lines = ["digraph minigan {",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
             '  edge [arrowsize=0.7];']
    lines += nodes
    for f in ops:  # edges last: every node has its id by now
        target = ids[id(f)]
        for i, x in enumerate(_inputs(f)):
            source = ids[id(x.creator) if x.creator is not None else id(x)]
            attrs = []
            if x.creator is not None:
                k, n = _output_index(x.creator, x)
                if n > 1:
                    attrs.append(f"label={_quote(str(k))}")
            if not _needed(f, i):
                attrs.append("style=dashed")
            lines.append(f"  {source} -> {target}" + (f" [{', '.join(attrs)}]" if attrs else "")
                         + ";")
    lines.append("}")
    return Dot("\n".join(lines))


def _op_shapes(f: Function, t: Tensor) -> str:
    """What an op made: its output's shape and dtype (each output's, when it has several)."""
    meta = getattr(f, "_output_meta", None)
    if meta and len(meta) > 1:
        return ", ".join(str(tuple(shape)) for shape, _ in meta) + f" {t.dtype}"
    return _shape(t)


def render(roots: Any, path: str | Path, params: Mapping[str, Tensor] | None = None,
           checks: Mapping | None = None, gradcheck: bool = False,
           format: str | None = None) -> Path:
    """``to_dot(roots, params, checks, gradcheck).render(path, format)``: draw the graph
    into a .png, .svg or .pdf (needs Graphviz's ``dot``; the .dot text is written beside it
    in any case), or write only the DOT text for a path ending in .dot."""
    return to_dot(roots, params, checks, gradcheck).render(path, format)


def check_graph(roots: Any, fast: bool | None = None, **tolerances: Any):
    """The float64 gradcheck of every op below ``roots``, for ``checks=`` (the same as
    :func:`minigan.graphcheck.check_graph`; see that module)."""
    from .graphcheck import check_graph as check
    return check(roots, fast=fast, **tolerances)


__all__ = ["tree", "to_dot", "render", "check_graph", "functions", "Dot"]
