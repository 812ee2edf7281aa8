"""Shared fixtures: ``xp`` runs a test on NumPy and (when usable) on CuPy; hypothesis is
derandomized so CI is reproducible."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from minigan import backend

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile("ci")

CUDA_REASON = backend.cuda_status()


def _device_params():
    return [pytest.param("cpu", id="cpu"),
            pytest.param("cuda", id="cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
                CUDA_REASON is not None, reason=f"no CUDA: {CUDA_REASON}")])]


@pytest.fixture(params=_device_params())
def device(request) -> str:
    """The device a test runs on: "cpu", and "cuda" where CuPy and a GPU are usable."""
    return request.param


@pytest.fixture
def xp(device):
    """The array module of ``device`` (numpy or cupy)."""
    return backend.xp_for_device(device)


@pytest.fixture
def torch():
    """PyTorch as an oracle; the test is skipped where it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    import minigan as mg
    mg.manual_seed(0)
    np.random.seed(0)


def _package_files() -> dict:
    """Every file of the minigan package (bytecode caches aside): its name, and the hash of
    each file that is not Python source (the shipped data and weights)."""
    import minigan
    root = Path(minigan.__file__).parent
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.suffix != ".py" else None
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="session", autouse=True)
def _package_left_alone():
    """No command or call the tests make writes into the package: the shipped files
    (minigan/models/classifier.npz, the MNIST subset) are byte-identical afterwards, and no
    file appears there."""
    before = _package_files()
    yield
    after = _package_files()
    changed = sorted(k for k in set(before) | set(after) if before.get(k, 0) != after.get(k, 0))
    assert not changed, f"the tests wrote into the minigan package: {changed}"
