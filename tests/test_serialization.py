"""mg.save / mg.load: round trips of nested structures, refusal of unsafe or broken files,
atomic writes."""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

import minigan as mg
from minigan import nn, serialization


def _nested():
    return {
        "model": nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).state_dict(),
        "step": 12,
        "lr": 2e-4,
        "specials": [float("nan"), float("inf"), -float("inf")],
        "name": "dcgan ü",
        "flags": (True, False, None),
        "ints": {0: "zero", 1: [1, 2, 3], -5: {}},
        "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3), np.zeros((), np.float64),
                   np.ones((0, 4), np.float32), np.array([True, False]), np.uint8(7),
                   np.float32(1.5), np.zeros((2, 2), np.complex128)],
        "grad": mg.tensor([1.0, 2.0], requires_grad=True),
        "param": nn.Parameter(mg.ones(2, dtype="float64")),
        "empty": [],
    }


def _assert_same(a, b, where="obj"):
    if isinstance(a, mg.Tensor):
        assert type(b) is type(a), where
        assert b.dtype == a.dtype and b.shape == a.shape and b.requires_grad == a.requires_grad, where
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert type(b) is type(a) and b.dtype == a.dtype and b.shape == a.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(b) is type(a) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert type(b) is type(a) and a == b, where


def test_round_trip_nested(tmp_path):
    obj = _nested()
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    back = mg.load(path)
    _assert_same(obj, back)
    assert back["model"]["1.num_batches_tracked"].dtype == np.int64
    assert back["model"]["0.weight"].device == "cpu"
    with zipfile.ZipFile(path) as z:  # one archive of .npy files, no pickle anywhere
        assert all(name.endswith(".npy") for name in z.namelist())


def test_round_trip_compressed_and_str_path(tmp_path):
    path = str(tmp_path / "c.ckpt")  # any extension: the name is kept as given
    mg.save({"w": np.zeros((100, 100), np.float32)}, path, compress=True)
    assert os.path.exists(path) and os.path.getsize(path) < 10_000
    assert mg.load(path)["w"].shape == (100, 100)


def test_load_to_device(tmp_path, device):
    mg.save({"t": mg.ones(3)}, tmp_path / "d.npz")
    t = mg.load(tmp_path / "d.npz", device=device)["t"]
    assert t.device == mg.backend.normalize_device(device)


def test_model_round_trip_through_file(tmp_path):
    src = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    src[1].running_mean.data[:] = [1, 2, 3]
    src[1].num_batches_tracked.data[...] = 5
    mg.save(src.state_dict(), tmp_path / "m.npz")
    dst = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    dst.load_state_dict(mg.load(tmp_path / "m.npz"))
    for (k, a), b in zip(src.state_dict().items(), dst.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_unsupported_objects_are_refused_on_save(tmp_path):
    with pytest.raises(TypeError, match=r"type object at obj\['bad'\]"):
        mg.save({"bad": object()}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        mg.save({"a": np.array([None, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be"):
        mg.save({(1, 2): 3}, tmp_path / "x.npz")
    assert not os.path.exists(tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []  # no temporary files left behind


# ---------------------------------------------------------------------------- refusing files


def _rewrite(path, members: dict) -> None:
    """Write an .npz by hand with the given member name -> .npy bytes."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(array, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def _members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_object_array_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    mg.save({"w": np.ones(3)}, path)
    members = _members(path)
    members["a0.npy"] = _npy(np.array([{"evil": 1}, None], dtype=object), allow_pickle=True)
    _rewrite(path, members)
    with pytest.raises(mg.CheckpointError, match=r"t\.npz.*'a0' cannot be read safely"):
        mg.load(path)


def test_bad_json_is_refused(tmp_path):
    path = tmp_path / "j.npz"
    mg.save({"w": np.ones(3)}, path)
    members = _members(path)
    for bad, why in [(b"{not json", "not valid JSON"),
                     (json.dumps({"format": "other", "tree": 1}).encode(), "format header"),
                     (json.dumps({"format": "minigan", "version": 1,
                                  "tree": {"__array__": "a9"}}).encode(), "missing array 'a9'"),
                     (json.dumps({"format": "minigan", "version": 1,
                                  "tree": {"__array__": "__minigan__"}}).encode(), "missing array"),
                     (json.dumps({"format": "minigan", "version": 1,
                                  "tree": {"__evil__": 1}}).encode(), "unknown tag"),
                     (json.dumps({"format": "minigan", "version": 1,
                                  "tree": {"__dict__": [[1]]}}).encode(), "key, value"),
                     (json.dumps({"format": "minigan", "version": 99,
                                  "tree": 1}).encode(), "newer"),
                     (b"\xff\xfe", "not valid JSON")]:
        members["__minigan__.npy"] = _npy(np.frombuffer(bad, dtype=np.uint8))
        _rewrite(path, members)
        with pytest.raises(mg.CheckpointError, match=why) as info:
            mg.load(path)
        assert str(path) in str(info.value)
    del members["__minigan__.npy"]
    _rewrite(path, members)
    with pytest.raises(mg.CheckpointError, match="structure entry '__minigan__' is missing"):
        mg.load(path)


def test_truncated_and_corrupt_files_are_refused(tmp_path):
    path = tmp_path / "full.npz"
    mg.save({"w": np.arange(1000, dtype=np.float64)}, path)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 30):
        broken = tmp_path / f"cut{cut}.npz"
        broken.write_bytes(data[:cut])
        with pytest.raises(mg.CheckpointError, match=f"cut{cut}.npz"):
            mg.load(broken)
    flipped = bytearray(data)
    flipped[200] ^= 0xFF  # inside the stored array bytes: the zip CRC catches it
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(mg.CheckpointError, match="flipped.npz"):
        mg.load(bad)
    plain = tmp_path / "plain.npy"
    np.save(plain, np.ones(3))
    with pytest.raises(mg.CheckpointError, match="single array"):
        mg.load(plain)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")


# ---------------------------------------------------------------------------- atomic write


def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mg.save({"version": 1, "w": np.zeros(5)}, path)

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")
    monkeypatch.setattr(serialization.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        mg.save({"version": 2, "w": np.ones(5)}, path)
    monkeypatch.undo()
    assert mg.load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file was removed


def test_failure_at_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    mg.save({"version": 1}, path)
    monkeypatch.setattr(serialization.os, "replace",
                        lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        mg.save({"version": 2}, path)
    monkeypatch.undo()
    assert mg.load(path)["version"] == 1 and os.listdir(tmp_path) == ["ckpt.npz"]


def test_write_is_fsynced_before_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(serialization.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(serialization.os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b)))
    mg.save({"x": 1}, tmp_path / "f.npz")
    assert events[:2] == ["fsync", "replace"]


def test_file_mode_is_that_of_a_normal_file(tmp_path):
    normal = tmp_path / "normal"
    normal.write_bytes(b"")
    mg.save({"x": 1}, tmp_path / "ckpt.npz")
    assert (tmp_path / "ckpt.npz").stat().st_mode == normal.stat().st_mode


def test_numpy_integer_keys(tmp_path):
    mg.save({np.int64(3): "three"}, tmp_path / "k.npz")
    assert mg.load(tmp_path / "k.npz") == {3: "three"}


# ---------------------------------------------------------------------------- property


def _structures():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_]),
                        hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    leaves = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
              | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5) | arrays
              | arrays.map(lambda a: mg.tensor(a) if a.dtype.kind == "f" else a))
    keys = st.text(max_size=4) | st.integers(-5, 5)
    return st.recursive(leaves, lambda children: st.lists(children, max_size=3)
                        | st.tuples(children, children)
                        | st.dictionaries(keys, children, max_size=3), max_leaves=8)


def test_round_trip_property(tmp_path):
    from hypothesis import given

    @given(_structures())
    def check(obj):
        mg.save({"root": obj}, tmp_path / "p.npz")
        _assert_same({"root": obj}, mg.load(tmp_path / "p.npz"))
    check()
