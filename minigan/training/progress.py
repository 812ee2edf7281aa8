"""What a training run shows and records: a one-line progress bar and a JSON-lines log."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Mapping


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """``step 120/600 [####......] D 1.21 G 0.93 D(x) 0.58 D(G(z)) 0.41 | 2.1 step/s ETA 03:48``

    On a terminal the line is redrawn in place (``\\r``) at most ``refresh`` times a second;
    elsewhere (a log file, a pipe) it prints a plain line every ``plain_every`` seconds, so
    logs stay readable. Speed is measured over the steps since the bar started (a resumed
    run does not count the steps it skipped).
    """

    def __init__(self, total: int, start: int = 0, stream: IO | None = None,
                 refresh: float = 10.0, plain_every: float = 15.0) -> None:
        self.total, self.start = total, start
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 1.0 / refresh if self.tty else plain_every
        self.t0 = time.perf_counter()
        self.last_draw = -1e9
        self.width = 0

    def rate(self, step: int) -> float:
        elapsed = time.perf_counter() - self.t0
        return (step - self.start) / elapsed if elapsed > 0 else 0.0

    def line(self, step: int, stats: Mapping[str, float]) -> str:
        rate = self.rate(step)
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        filled = int(20 * step / max(1, self.total))
        parts = [f"step {step}/{self.total}", "[" + "#" * filled + "." * (20 - filled) + "]"]
        parts += [f"{name} {value:.3f}" for name, value in stats.items()]
        parts.append(f"| {rate:.2f} step/s ETA {format_duration(eta) if eta == eta else '--:--'}")
        return " ".join(parts)

    def update(self, step: int, stats: Mapping[str, float], force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last_draw < self.interval and step < self.total:
            return
        self.last_draw = now
        text = self.line(step, stats)
        if self.tty:
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.width:
            self.stream.write("\n")
            self.stream.flush()


class JsonLog:
    """One JSON object per line, appended and flushed as it goes (``DIR/log.jsonl``)."""

    def __init__(self, path: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        if resume_step is not None and self.path.exists():
            # Keep what was logged up to the checkpoint; later lines are redone by the resume
            # (and a line cut short by a crash goes too).
            kept = [json.dumps(r) for r in read_log(self.path) if r.get("step", 0) <= resume_step]
            self.path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        self.file = open(self.path, "a")

    def write(self, record: Mapping) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def read_log(path: str | Path) -> list[dict]:
    """The records of a JSON-lines log. A line that is not a JSON object (the last one, cut
    short when a run was killed mid-write) is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
