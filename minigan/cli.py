"""The ``minigan`` command. Each subcommand is a small function; errors on bad input end
with one line on stderr and a non-zero exit code, never a traceback."""
from __future__ import annotations

import argparse
import platform
import sys
from typing import Sequence

from . import __version__, backend


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


# ---------------------------------------------------------------------------- info


def blas_name() -> str:
    """The BLAS library NumPy uses (via threadpoolctl when present, else numpy's config)."""
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                return (f"{pool.get('internal_api')} {pool.get('version') or ''} "
                        f"({pool.get('num_threads')} threads)").replace("  ", " ")
    except Exception:
        pass
    import numpy as np
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def cmd_info(args: argparse.Namespace) -> int:
    import numpy as np
    print(f"minigan {__version__}")
    print(f"Python  {platform.python_version()} ({platform.machine()})")
    print(f"NumPy   {np.__version__}, BLAS: {blas_name()}")
    cupy = backend._cupy
    print(f"CuPy    {cupy.__version__ if cupy is not None else 'not installed'}")
    devices = ["cpu"]
    reason = backend.cuda_status()
    if reason is None:
        devices += [f"cuda:{i}" for i in range(backend.cuda_device_count())]
    print("devices " + ", ".join(devices) + ("" if reason is None else f"  (cuda: {reason})"))
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigan", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="versions, BLAS and usable devices")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return 130
    except (CliError, backend.DeviceError, FileNotFoundError, ValueError) as exc:
        print(f"minigan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
