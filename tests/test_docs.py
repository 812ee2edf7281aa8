"""Every ```python block of README.md and of every page under docs/ runs, so the docs never rot.

The pages are found on disk when the tests are collected: a page added later is covered the
day it lands. The blocks of one page run in order in one namespace (a page is self-contained:
later blocks may use the names of earlier ones), in a temporary working directory. Blocks in
another language (```bash, ```text, a bare ```) are not run; neither is a block fenced
```python no-run, for the rare example that cannot run in a test (it needs a GPU, or the
network): use it sparingly, and say in the text why it does not run.
"""
from __future__ import annotations

import pathlib
import re
import textwrap
import traceback

import pytest

import minigan as mg

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """(first line number, info string, code) of every fenced block of a Markdown text.
    A fence closes on a line of at least as many of the same characters (CommonMark); a
    block indented under a list item is dedented."""
    blocks, open_fence, start, info, lines = [], None, 0, "", []
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if open_fence is None:
            if match:
                open_fence, info, lines = match["fence"], match["info"].strip(), []
                start = number + 1
        elif match and match["fence"].startswith(open_fence) and not match["info"].strip():
            blocks.append((start, info, textwrap.dedent("\n".join(lines))))
            open_fence = None
        else:
            lines.append(line)
    return blocks


def runnable(info: str) -> bool:
    words = info.split()
    return bool(words) and words[0] == "python" and "no-run" not in words[1:]


def test_pages_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/index.md", "docs/autograd.md", "docs/kernels/conv.md"} <= names


def test_fences_are_read_as_commonmark():
    text = ("a\n````python\nx = 1\n```\nstill code\n`````\n\n  ```bash\n  ls\n  ```\n"
            "```python no-run\ny\n```\n")
    assert code_blocks(text) == [(3, "python", "x = 1\n```\nstill code"), (9, "bash", "ls"),
                                 (12, "python no-run", "y")]
    assert [runnable(info) for _, info, _ in code_blocks(text)] == [True, False, False]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = page.relative_to(ROOT).as_posix()
    namespace: dict = {"__name__": f"docs:{name}"}
    dtype = mg.get_default_dtype()
    try:
        for line, info, code in code_blocks(page.read_text(encoding="utf-8")):
            if not runnable(info):
                continue
            failure = None
            try:  # padded so that a traceback names the line of the page
                exec(compile("\n" * (line - 1) + code, name, "exec"), namespace)
            except Exception as exc:
                where = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                         if f.filename == name]
                failure = (f"{name}: the python block at line {line} failed at line "
                           f"{where[-1] if where else line}: {type(exc).__name__}: {exc}"
                           f"\n\n{code}")
            if failure:
                pytest.fail(failure, pytrace=False)
    finally:
        mg.set_default_dtype(dtype)


# ---------------------------------------------------------------------------- figures and the map


def _make_figures():
    import runpy
    return runpy.run_path(str(ROOT / "tools" / "make_figures.py"), run_name="make_figures")


def test_figures_are_what_the_script_draws(tmp_path):
    """tools/make_figures.py runs, and docs/figures/ holds what it draws now (pixel for pixel
    when the checked-in file was drawn by this Pillow version; Pillow's text may move a
    pixel between versions, so other versions compare sizes only)."""
    from PIL import Image
    import PIL
    script = _make_figures()
    script["main"](["--out", str(tmp_path)])
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(script["FIGURES"])
    for name in drawn:
        checked_in = ROOT / "docs" / "figures" / name
        assert checked_in.exists(), f"{name}: run python tools/make_figures.py"
        assert checked_in.stat().st_size < 100_000, f"{name} is too big for the repository"
        with Image.open(checked_in) as old, Image.open(tmp_path / name) as new:
            assert old.size == new.size, f"{name}: regenerate with python tools/make_figures.py"
            if old.info.get("Software", "").endswith(f"Pillow {PIL.__version__}"):
                assert old.convert("RGB").tobytes() == new.convert("RGB").tobytes(), \
                    f"{name} is stale: regenerate with python tools/make_figures.py"


def test_every_figure_the_docs_show_exists():
    shown = {(page, name) for page in PAGES
             for name in re.findall(r"\]\((?:\.\./)*figures/([\w.-]+)\)", page.read_text())}
    assert shown, "no page shows a figure"
    missing = [f"{page.relative_to(ROOT)}: {name}" for page, name in shown
               if not (ROOT / "docs" / "figures" / name).exists()]
    assert not missing


def test_the_map_lists_every_module():
    """docs/index.md's map of the package names every module (add a line for a new one)."""
    text = (ROOT / "docs" / "index.md").read_text()
    modules = sorted(p.relative_to(ROOT / "minigan").as_posix()
                     for p in (ROOT / "minigan").rglob("*.py"))
    missing = [m for m in modules if f"(../minigan/{m})" not in text]
    assert not missing, f"docs/index.md does not list {missing}"


def test_links_point_at_files():
    """Every relative link of the pages ([text](path) or [text](path#anchor)) names a file or
    folder of the repository."""
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            path = target.split("#")[0]
            if not path or re.match(r"[a-z]+:", path):  # an anchor on the page, or a URL
                continue
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
