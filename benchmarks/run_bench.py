"""Time of ``hwsim run`` on a ResNet-18-sized network against onnxruntime on the same machine.

The network is compiler.zoo's ResNet-18 with random weights at 1x3x224x224. Execution is timed
(best of ``--repeat``), apart from compilation (import, passes, lowering; onnxruntime's session
creation is likewise excluded). onnxruntime and hwsim run in separate child processes, so neither's
thread pool (onnxruntime's, or OpenBLAS's, whose idle threads spin for a while) slows the other; hwsim
is timed with OpenBLAS's default threads and with one thread, which is faster on a loaded machine.

    .venv/bin/python benchmarks/run_bench.py [--repeat 5] [--image 224] [--int8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _child(what: str, repeat: int, image: int) -> dict:
    """One measurement inside this process (called in a fresh child)."""
    import numpy as np

    from compiler import zoo
    from hwsim.core.config import preset

    model = zoo.resnet18(weights=True, image=image)
    x = np.random.default_rng(0).standard_normal((1, 3, image, image)).astype(np.float32)
    if what == "ort":
        import onnxruntime as ort

        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        out = session.run(None, {"input": x})[0]
        np.save(os.environ["HWSIM_BENCH_REF"], out)
        return {"run_s": _best(lambda: session.run(None, {"input": x}), repeat)}
    from compiler.schedule import schedule
    from hwsim.execute import compile_for_run, run

    cfg = preset("gemmini-like")
    start = time.perf_counter()
    compiled = compile_for_run(model)
    compile_s = time.perf_counter() - start
    precision = "int8" if what == "int8" else "fp32"
    out = run(compiled, {"input": x}, cfg, precision=precision).outputs["output"]
    ref = np.load(os.environ["HWSIM_BENCH_REF"])
    return {
        "run_s": _best(lambda: run(compiled, {"input": x}, cfg, precision=precision), repeat),
        "compile_s": compile_s,
        "rel_err": float(np.max(np.abs(out - ref)) / np.max(np.abs(ref))),
        "gmac": compiled.lowered.macs / 1e9,
        "tiles": sum(r.count for w in compiled.lowered.workloads if w.gemm is not None for r in schedule(w, cfg).runs),
    }


def _measure(what: str, repeat: int, image: int, ref_path: str, blas_threads: str | None = None) -> dict:
    env = dict(os.environ, HWSIM_BENCH_REF=ref_path)
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = blas_threads
    proc = subprocess.run([sys.executable, __file__, "--child", what, "--repeat", str(repeat), "--image", str(image)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--image", type=int, default=224)
    parser.add_argument("--int8", action="store_true", help="also time --precision int8 (it includes the fp32 reference)")
    parser.add_argument("--child", choices=("ort", "fp32", "int8"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.repeat, args.image)))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ref = os.path.join(tmp, "ref.npy")
        ort_s = _measure("ort", args.repeat, args.image, ref)["run_s"]
        rows = [("hwsim run fp32", _measure("fp32", args.repeat, args.image, ref)),
                ("hwsim run fp32, 1 BLAS thread", _measure("fp32", args.repeat, args.image, ref, "1"))]
        if args.int8:
            rows.append(("hwsim run int8 (+fp32 ref)", _measure("int8", args.repeat, args.image, ref)))
    first = rows[0][1]
    print(f"ResNet-18 1x3x{args.image}x{args.image}: {first['gmac']:.2f} GMAC, {first['tiles']} tiles on gemmini-like;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'onnxruntime fp32':<32}{ort_s * 1e3:>9.1f} ms")
    for label, m in rows:
        print(f"{label:<32}{m['run_s'] * 1e3:>9.1f} ms   {m['run_s'] / ort_s:5.1f}x onnxruntime"
              f"   max rel err {m['rel_err']:.1e}   (compile {m['compile_s'] * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
