"""Forward + backward of every kernel, minigan vs PyTorch, in ONE table: DCGAN-28 sizes
(batch 64) and a small Transformer's (batch 64, 16 tokens, width 128, 4 heads).

The cases come from the per-family scripts (conv_speed, norm_act_speed, linear_loss_speed,
pool_resample_speed, attention_speed); the alternating-block timing and the table are
``minigan.bench``'s.

    python benchmarks/kernels.py                 # NumPy's BLAS threads for both, wall clock
    python benchmarks/kernels.py --cpu-time      # 1 thread, process CPU time (busy machine)
    python benchmarks/kernels.py --quick --only conv
"""
import sys

import minigan as mg
from minigan.bench import kernels_main

if __name__ == "__main__":
    mg.tune_process()  # a benchmark owns its process: minigan's speed settings
    sys.exit(kernels_main())
