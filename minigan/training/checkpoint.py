"""Checkpoints of training runs: ``mg.save`` / ``mg.load`` (.npz + JSON, no pickle), written
atomically and checked on the way back in (a missing file, a file that is not a minigan
checkpoint, or another model's checkpoint each raise :class:`CheckpointError`)."""
from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError  # noqa: F401  (one class, wherever it is raised)


def save_checkpoint(state: dict, path: str | Path, compress: bool = False) -> Path:
    """Write ``state`` to ``path``. ``mg.save`` writes a temporary file and renames it over
    the target, so an existing checkpoint is only ever replaced by a complete new one."""
    from ..serialization import save
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(state, path, compress=compress)
    return path


def load_checkpoint(path: str | Path, kind: str, device: str | None = None) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` and check it holds ``kind``."""
    from ..serialization import load
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.npz"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = load(path, device=device)
    except CheckpointError:  # mg.load's message names the file and what is wrong with it
        raise
    except Exception as exc:  # anything else reading it: say so in one line
        raise CheckpointError(f"{path}: not a readable minigan checkpoint "
                              f"({type(exc).__name__}: {exc})") from None
    found = state.get("kind") if isinstance(state, dict) else None
    if found != kind:
        what = f"a {found!r} checkpoint" if found else "not a training checkpoint"
        raise CheckpointError(f"{path}: {what}; expected a {kind!r} checkpoint")
    return state
