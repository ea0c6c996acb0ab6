"""Time of ``hwsim run`` (fp32, and int8) on a ResNet-18-sized network against onnxruntime.

The network is compiler.zoo's ResNet-18 with random weights at 1x3x224x224. Compilation (import,
passes, lowering) is timed apart from execution, which is what the ratio to onnxruntime compares:
onnxruntime's session creation is likewise excluded. Both use this machine's cores (onnxruntime's
own thread pool, numpy's BLAS threads). Best of ``--repeat`` runs.

    .venv/bin/python benchmarks/run_bench.py [--repeat 3] [--image 224] [--int8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort

from compiler import zoo
from hwsim.config import preset
from hwsim.execute import compile_for_run, run


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--image", type=int, default=224)
    parser.add_argument("--int8", action="store_true", help="also time --precision int8 (calibrated on the input)")
    args = parser.parse_args()

    model = zoo.resnet18(weights=True, image=args.image)
    x = np.random.default_rng(0).standard_normal((1, 3, args.image, args.image)).astype(np.float32)
    cfg = preset("gemmini-like")

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = session.run(None, {"input": x})[0]
    ort_s = _best(lambda: session.run(None, {"input": x}), args.repeat)

    start = time.perf_counter()
    compiled = compile_for_run(model)
    compile_s = time.perf_counter() - start
    out = run(compiled, {"input": x}, cfg).outputs["output"]
    run_s = _best(lambda: run(compiled, {"input": x}, cfg), args.repeat)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    tiles = sum(sum(r.count for r in __import__("compiler.tiling", fromlist=["schedule"]).schedule(w, cfg).runs)
                for w in compiled.lowered.workloads if w.gemm is not None)

    print(f"ResNet-18 1x3x{args.image}x{args.image}, {compiled.lowered.macs / 1e9:.2f} GMAC, {tiles} tiles on {cfg.name}")
    print(f"{'onnxruntime fp32':<28}{ort_s * 1e3:>10.1f} ms")
    print(f"{'hwsim run fp32':<28}{run_s * 1e3:>10.1f} ms   ratio {run_s / ort_s:.1f}x   max rel err {rel:.1e}")
    print(f"{'hwsim compile (once)':<28}{compile_s * 1e3:>10.1f} ms")
    if args.int8:
        int8_s = _best(lambda: run(compiled, {"input": x}, cfg, precision="int8"), args.repeat)
        print(f"{'hwsim run int8 (+fp32 ref)':<28}{int8_s * 1e3:>10.1f} ms   ratio {int8_s / ort_s:.1f}x")


if __name__ == "__main__":
    main()
