"""``mg.save(obj, path)`` / ``mg.load(path)``: checkpoints as one ``.npz`` file, never pickle.

A checkpoint from a stranger must not be able to run code, so the file holds only plain
arrays (read back with ``np.load(allow_pickle=False)``) plus one JSON document that
describes the structure. Layout of the zip archive:

    __minigan__.npy    uint8 bytes of the JSON document {"format": "minigan", "version": 1,
                       "tree": <node>}
    a0.npy, a1.npy...  the arrays, referenced from the tree by name

A node is a JSON scalar (None, bool, int, finite float, str), a list of nodes, or a tagged
object: {"__dict__": [[key, node], ...]} (keys: str/int/float/bool/None, order kept),
{"__tuple__": [...]}, {"__float__": "nan" | "inf" | "-inf"}, {"__array__": name} (a NumPy
array; {"__array__": name, "scalar": true} for a NumPy scalar) and {"__tensor__": name,
"requires_grad": bool, "parameter": bool}.

The file is written atomically: to a temporary file in the same folder, flushed and
fsync'ed, then renamed over the target with ``os.replace``, so a crash mid-write leaves the
previous checkpoint intact.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .errors import CheckpointError

FORMAT, VERSION = "minigan", 1
META_KEY = "__minigan__"
_ARRAY_KINDS = "biufc"  # bool, ints, unsigned, floats, complex: never object or void



# ============================================================================ save


class _Encoder:
    """Turns a nested object into a JSON tree plus a dict of named NumPy arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _store(self, array: Any, where: str) -> str:
        array = backend.as_numpy(array)
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"save: cannot store an array of dtype {array.dtype} at {where} "
                            f"(only numeric and bool arrays)")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def encode(self, obj: Any, where: str = "obj") -> Any:
        from .nn.module import Parameter  # local: nn imports this package
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"__float__": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, Tensor):
            return {"__tensor__": self._store(obj.data, where),
                    "requires_grad": bool(obj.requires_grad),
                    "parameter": isinstance(obj, Parameter)}
        if isinstance(obj, np.generic):
            return {"__array__": self._store(np.asarray(obj), where), "scalar": True}
        if isinstance(obj, np.ndarray) or backend.is_cupy_array(obj):
            return {"__array__": self._store(obj, where)}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if isinstance(key, np.generic) and key.dtype.kind in "biuf":
                    key = key.item()  # np.int64(3) -> 3
                if not (key is None or isinstance(key, (str, int, float, bool))):
                    raise TypeError(f"save: dict key {key!r} at {where} has type "
                                    f"{type(key).__name__}; keys must be str, int, float, bool or None")
                items.append([self.encode(key, where), self.encode(value, f"{where}[{key!r}]")])
            return {"__dict__": items}
        if isinstance(obj, (list, tuple)):
            nodes = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
            return {"__tuple__": nodes} if isinstance(obj, tuple) else nodes
        raise TypeError(f"save: cannot store an object of type {type(obj).__name__} at {where} "
                        f"(allowed: dict, list, tuple, Tensor, array, number, str, bool, None)")


def save(obj: Any, path: str | os.PathLike, compress: bool = False) -> None:
    """Save a (nested) dict/list/tuple of Tensors, arrays, numbers, strings, bools and None.

    Written atomically (temp file + fsync + ``os.replace``): either the old file or the
    complete new one is on disk, never a half-written one. ``compress=True`` zips the arrays
    with deflate (smaller, slower).

    >>> mg.save({"model": model.state_dict(), "step": 100}, "ckpt.npz")
    """
    encoder = _Encoder()
    tree = encoder.encode(obj)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}, allow_nan=False)
    arrays = dict(encoder.arrays)
    arrays[META_KEY] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        _chmod_like_a_new_file(tmp)
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def _chmod_like_a_new_file(path: str) -> None:
    """mkstemp makes the file private (0600); give it the mode open() would have (0666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(path, 0o666 & ~umask)
    except OSError:
        pass


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (best effort: not every OS can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ============================================================================ load


def _describe_non_archive(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a single array (an .npy file)"
    if head[:1] == b"\x80":
        return "a Python pickle (which minigan never loads)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # maybe a character cut off at the end of the 64 bytes
        if exc.start < len(head) - 3:
            return f"a binary file starting {head[:8]!r}"
        text = head[:exc.start].decode("utf-8")
    if all(c.isprintable() or c in "\n\r\t" for c in text):
        return f"a text file starting {text.splitlines()[0][:30]!r}" if text.strip() else "a text file"
    return f"a binary file starting {head[:8]!r}"


class _Decoder:
    def __init__(self, path: str, npz: Any, device: str | None) -> None:
        self.path, self.npz, self.device = path, npz, device
        self.names = set(npz.files)

    def fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"load: {self.path!r} is not a valid minigan checkpoint: {why}")

    def array(self, name: Any, meta: bool = False) -> np.ndarray:
        if not isinstance(name, str) or (name == META_KEY) != meta or name not in self.names:
            raise self.fail(f"the structure refers to a missing array {name!r}")
        try:
            array = self.npz[name]
        except ValueError as exc:  # "Object arrays cannot be loaded when allow_pickle=False"
            raise self.fail(f"array {name!r} cannot be read safely ({exc})") from None
        except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            raise self.fail(f"array {name!r} is corrupt ({exc.__class__.__name__}: {exc})") from None
        if array.dtype.kind not in _ARRAY_KINDS:
            raise self.fail(f"array {name!r} has dtype {array.dtype}, which minigan never writes")
        return array

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise self.fail(f"unexpected entry {node!r} in the structure")
        if "__dict__" in node:
            items = node["__dict__"]
            if not isinstance(items, list) or not all(isinstance(i, list) and len(i) == 2
                                                      for i in items):
                raise self.fail("a dict entry is not a list of [key, value] pairs")
            out = {}
            for key, value in items:
                key = self.decode(key)
                if not (key is None or isinstance(key, (str, int, float, bool))):
                    raise self.fail(f"a dict key {key!r} is not a scalar")
                out[key] = self.decode(value)
            return out
        if "__tuple__" in node:
            if not isinstance(node["__tuple__"], list):
                raise self.fail("a tuple entry is not a list")
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__float__" in node:
            text = node["__float__"]
            if text not in ("nan", "inf", "-inf"):
                raise self.fail(f"bad special float {text!r}")
            return float(text)
        if "__array__" in node:
            array = self.array(node["__array__"])
            return array[()] if node.get("scalar") else array
        if "__tensor__" in node:
            from .nn.module import Parameter  # local: nn imports this package
            array = self.array(node["__tensor__"])
            if self.device is not None:
                array = backend.to_device(array, self.device)
            requires_grad = bool(node.get("requires_grad", False)) and array.dtype.kind == "f"
            if node.get("parameter"):
                return Parameter(array, requires_grad=requires_grad)
            return Tensor(array, requires_grad=requires_grad)
        raise self.fail(f"unknown tag in {sorted(node)!r}")


def load(path: str | os.PathLike, device: str | None = None) -> Any:
    """Load what ``save`` wrote. Tensors come back as Tensors on ``device`` (default CPU),
    arrays as NumPy arrays. Files that are truncated, corrupt, hold pickled objects or a
    malformed structure are refused with a :class:`CheckpointError` naming the file."""
    path = os.fspath(path)
    if device is not None:
        device = backend.normalize_device(device)
    if os.path.isdir(path):
        raise CheckpointError(f"load: {path!r} is a folder, not a minigan checkpoint file")
    with open(path, "rb") as f:  # FileNotFoundError for a missing file, as torch.load
        head = f.read(64)
    if not head.startswith(b"PK"):  # not a zip archive: say what it is, before NumPy guesses
        raise CheckpointError(f"load: {path!r} is not a valid minigan checkpoint: "
                              f"{_describe_non_archive(head)}, not an .npz archive")
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"load: {path!r} is not a valid minigan checkpoint: cannot open it "
                              f"as an .npz archive ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CheckpointError(f"load: {path!r} is not a valid minigan checkpoint: it holds a single "
                              f"array, not an .npz archive")
    with npz:
        decoder = _Decoder(path, npz, device)
        if META_KEY not in decoder.names:
            raise decoder.fail(f"the structure entry {META_KEY!r} is missing")
        raw = decoder.array(META_KEY, meta=True)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise decoder.fail("the structure entry is not a byte string")
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise decoder.fail(f"the structure entry is not valid JSON ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or "tree" not in meta:
            raise decoder.fail("the structure entry lacks the minigan format header")
        if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
            raise decoder.fail(f"format version {meta.get('version')!r} is newer than this "
                               f"minigan reads ({VERSION}); upgrade minigan")
        return decoder.decode(meta["tree"])
