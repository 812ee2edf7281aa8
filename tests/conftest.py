"""Shared fixtures: ``xp`` runs a test on NumPy and (when usable) on CuPy; hypothesis is
derandomized so CI is reproducible."""
from __future__ import annotations

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
