"""Draw the README's text-to-image picture from a trained checkpoint (one row per prompt).

    python tools/make_text2img_figure.py runs/text2img/checkpoint.npz
        # -> docs/figures/text2img_samples.png (--out for another path)

Each row holds 8 samples of its caption from fixed noise (``--seed``), the caption written on
its left; the last rows ask for colour-shape pairs never seen in training and for captions
that leave attributes out (their samples should vary in what is left out).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minigan import images  # noqa: E402
from minigan.training.text2img import Text2ImgTrainer  # noqa: E402

PROMPTS = ["a large red circle in the top left", "a small blue square in the bottom right",
           "a large white triangle in the center", "a small cyan circle in the top right",
           "a large magenta square in the bottom left", "a green triangle", "a blue circle",
           "a yellow square", "a circle", "a small triangle in the center"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "docs" / "figures" / "text2img_samples.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    trainer = Text2ImgTrainer.from_checkpoint(args.checkpoint)
    prompts = [p for p in PROMPTS for _ in range(8)]
    samples = trainer.sample(prompts, trainer.noise(len(prompts), seed=args.seed))
    picture = images.labelled_grid(samples, PROMPTS, ncol=8)
    # 256 colours are plenty for pure-colour shapes on black: a third of the bytes
    picture.quantize(256).save(args.out, optimize=True)
    print(f"wrote {args.out} (step {trainer.step})")


if __name__ == "__main__":
    main()
