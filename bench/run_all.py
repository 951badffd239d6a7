"""Every benchmark, one after the other, with the defaults recorded in bench/README.md:

    python bench/run_all.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_cli  # noqa: E402
import bench_conv  # noqa: E402
import bench_frontend  # noqa: E402
import bench_io  # noqa: E402
import bench_mlp  # noqa: E402
import bench_scalar  # noqa: E402
import bench_train  # noqa: E402

for title, module in [("Goal 1: tensor graphs against numpy by hand", bench_mlp),
                      ("Goal 2: scalar graphs against Python floats and micrograd", bench_scalar),
                      ("Goal 3: the whole CLI on big graph files", bench_frontend),
                      ("Goal 4: a 1,000,000-element tensor in and out", bench_io),
                      ("Goal 5: training against the same loop by hand and micrograd",
                       bench_train),
                      ("Goal 6: a small CNN against numpy by hand", bench_conv),
                      ("Issue 17: fresh processes (start-up, the MLP end to end)", bench_cli)]:
    print(f"\n## {title}\n", flush=True)
    module.main([])
