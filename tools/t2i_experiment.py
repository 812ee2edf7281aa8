"""A text-to-image training experiment: train for a number of steps, score with the attribute
classifier every so often, print one JSON line per evaluation (not the CLI: that is
``minigan train text2img``; this is for measuring options side by side).

    PYTHONPATH=$PWD python tools/t2i_experiment.py --steps 1500 --eval-every 500 \
        --set diversity=0.5 cross_attention=True --out runs/t2i_exp/a

Prints (and appends to OUT/log.jsonl): step, wall seconds, process CPU seconds, s/step, the
seen / held-out scores, the diversity ratio and variety; saves OUT/samples_STEP.png (a fixed
list of prompts, one row each) and with ``--save`` OUT/checkpoint.npz.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minigan import images  # noqa: E402
from minigan.models.attributes import evaluate_text2img, load_attribute_classifier  # noqa: E402
from minigan.training.text2img import Text2ImgConfig, Text2ImgTrainer  # noqa: E402

PROMPTS = ["a large red circle in the top left", "a small blue square in the bottom right",
           "a large white triangle in the center", "a small yellow circle in the top right",
           "a green triangle", "a blue circle", "a yellow square", "a circle", "a large square",
           "a magenta triangle in the bottom left"]


def parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--eval-n", type=int, default=300)
    parser.add_argument("--classifier", default=None)
    parser.add_argument("--out", default="runs/t2i_exp/run")
    parser.add_argument("--set", nargs="*", default=[], help="config fields: name=value")
    parser.add_argument("--save", action="store_true",
                        help="write OUT/checkpoint.npz at every evaluation")
    args = parser.parse_args()
    fields = dict(item.split("=", 1) for item in args.set)
    config = Text2ImgConfig(steps=args.steps, **{k: parse_value(v) for k, v in fields.items()})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Text2ImgTrainer(config)
    classifier = load_attribute_classifier(args.classifier)
    sizes = {name: sum(p.data.size for p in m.parameters()) for name, m in trainer.modules().items()}
    print(json.dumps({"config": fields, "parameters": sizes,
                      "threads": os.environ.get("MINIGAN_NUM_THREADS")}), flush=True)

    def sample(prompts, z):
        return trainer.sample(list(prompts), z).numpy()

    wall0, cpu0 = time.perf_counter(), time.process_time()
    train_wall = train_cpu = 0.0
    log = open(out / "log.jsonl", "a")
    while trainer.step < config.steps:
        t0, c0 = time.perf_counter(), time.process_time()
        stats = trainer.train_step()
        train_wall += time.perf_counter() - t0
        train_cpu += time.process_time() - c0
        if trainer.step % args.eval_every == 0 or trainer.step == config.steps:
            z = trainer.noise(8 * len(PROMPTS)).numpy()
            grid = np.concatenate([sample([p] * 8, z[8 * i:8 * i + 8]) for i, p in enumerate(PROMPTS)])
            images.save_grid(grid, out / f"samples_{trainer.step:06d}.png", nrow=8)
            record = {"step": trainer.step, "train_wall_s": round(train_wall, 1),
                      "train_cpu_s": round(train_cpu, 1),
                      "s_per_step": round(train_wall / trainer.step, 4),
                      "cpu_per_step": round(train_cpu / trainer.step, 4),
                      "load": round(os.getloadavg()[0], 2),
                      "stats": {k: round(v, 4) for k, v in stats.items()}}
            if trainer.stage == 2:
                result = evaluate_text2img(sample, classifier, trainer.draw_noise, n=args.eval_n,
                                           p_state=config.p_state)
                record.update({k: v for k, v in result.items() if k != "diversity_per_prompt"})
            if args.save:
                trainer.save(out / "checkpoint.npz")
            line = json.dumps(record)
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
    print(json.dumps({"done": True, "wall_s": round(time.perf_counter() - wall0, 1),
                      "cpu_s": round(time.process_time() - cpu0, 1)}), flush=True)


if __name__ == "__main__":
    main()
