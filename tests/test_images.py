"""minigan/images.py's heat maps (the grids and curves are tested in test_train.py)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import minigan as mg
from minigan.images import heatmap_picture, save_heatmap


def test_heatmap_draws_the_matrix(tmp_path):
    matrix = np.array([[0.0, 1.0, 0.5], [0.25, 0.0, 1.0]])
    picture = heatmap_picture(matrix, ["a", "bb"], ["x", "y", "zzzz"], title="t", cell=30,
                              values=False)
    array = np.asarray(picture.convert("RGB"))
    # the cells sit at the bottom right, 30 pixels each; read back each cell's centre
    h, w = array.shape[:2]
    left, top = w - 8 - 3 * 30, h - 8 - 2 * 30
    centres = array[top + 15::30, left + 15::30][:2, :3, 0].astype(float)
    assert centres[0, 0] == 255 and centres[0, 1] == 8          # white at min, blue at max
    assert centres[0, 2] == pytest.approx((255 + 8) / 2, abs=1)  # halfway
    assert centres[0, 1] == centres[1, 2]
    fixed = np.asarray(heatmap_picture(matrix * 0.5, cell=30, values=False, vmin=0, vmax=1)
                       .convert("RGB"))
    h, w = fixed.shape[:2]
    assert fixed[h - 8 - 2 * 30 + 15, w - 8 - 2 * 30 + 15, 0] == pytest.approx(131.5, abs=1)
    path = save_heatmap(mg.tensor(matrix), tmp_path / "sub" / "h.png", vmin=0, vmax=1)
    assert path.exists() and Image.open(path).size[0] > 3 * 36


def test_heatmap_refuses_bad_input():
    with pytest.raises(mg.ShapeError, match="heatmap: expected a non-empty 2-d matrix"):
        heatmap_picture(np.zeros(3))
    with pytest.raises(mg.ArgumentError, match="heatmap: 1 row and 2 column labels"):
        heatmap_picture(np.zeros((2, 2)), ["a"], ["b", "c"])
