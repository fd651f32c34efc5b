"""Count the CPU instructions an SDK's autologging adds to a call: tracewire next to MLflow, one run.

CPU time on a shared or virtual machine scatters by tens of percent between runs, more than the
3 % budget it is meant to check (``bench_openai.py`` and ``bench_anthropic.py`` print that
scatter). Instruction counts do not: valgrind's callgrind counts every instruction the calling
thread executes, the same way each run. Each worker (uninstrumented, tracewire, MLflow) runs the
calls of ``bench_openai.py`` or ``bench_anthropic.py`` (``--sdk``) under callgrind twice, with a
small and a large number of calls; the difference divided by the extra calls is the per-call
count, free of start-up and import costs. Only the calling thread is counted
(``--separate-threads``); background export threads are reported apart. Each run collects its
garbage before the measured calls, so that a full collection of the imported modules' objects,
which a background thread's allocations can move from one run into the other, lands in neither.
The workers are different processes, though, and CPython's type-attribute cache can make the same
call cost one of them more instructions than another, by more than tracing adds: a traced count
below the uninstrumented one is reported as NOISE (``benchmarks/README.md``, "Instruction counts").

What counts miss: cache misses and branch mispredictions cost time without instructions, so the
overhead in CPU time is larger than in instructions; the CPU benchmarks measure that.
``--cache-sim`` has callgrind simulate this machine's caches as well and compares estimated cycles
(instructions + 10 per L1 miss + 100 per last-level miss, cachegrind's rough model), which move
with cache misses yet stay deterministic; it runs several times slower.

Run with ``nox -s bench`` (it runs this script for both SDKs when ``valgrind`` is installed) or
``python benchmarks/bench_instructions.py --sdk openai`` (or ``anthropic``) in a venv holding
tracewire, the SDK and mlflow-tracing; it takes a few minutes per SDK. Exits 0 (a missed budget
says MISS), 1 when something crashed, 2 when valgrind is missing.
"""

from __future__ import annotations

import argparse
import gc
import glob
import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_core import clean_env, dist_version, guard_network, machine
from bench_sdk import OVERHEAD_BUDGET_PCT, SdkBench, start_session
from bench_sdk_report import overhead_ratio

SDKS = ("openai", "anthropic")
LIBRARIES = ("tracewire", "mlflow")
# Calls per run: the counts of the small run are subtracted from those of the large one.
CALLS = {"chat": (10, 110), "stream": (5, 45)}


def _bench(sdk: str) -> SdkBench:
    """Return the SDK's benchmark definition (its mock server, client and cases)."""
    bench: SdkBench = importlib.import_module(f"bench_{sdk}").BENCH
    return bench


def worker(sdk: str, name: str, case: str, calls: int) -> int:
    """Run ``calls`` calls of ``case`` with autolog on (for the libraries), after a warm-up."""
    guard_network()
    session = start_session(_bench(sdk), name)
    if session.toggle is not None:
        session.toggle(True)
    run, lib = session.runners[case], session.lib
    traced = 0 if session.toggle is None else 1
    run(3)  # first calls import lazily loaded SDK modules and patch them
    lib.drain(3 * traced)
    gc.collect()
    run(calls)
    lib.drain((3 + calls) * traced)  # the export thread's work is counted, apart
    return 0


# cachegrind's rough cost model: an L1 miss costs about 10 instructions, a last-level miss 100.
_MISS_COST = {"I1mr": 10, "D1mr": 10, "D1mw": 10, "ILmr": 100, "DLmr": 100, "DLmw": 100}


def _totals(path: str) -> int:
    """Instructions of one profile, or with a cache simulation, its estimated cycles."""
    events: list[str] = []
    with open(path, encoding="utf-8") as profile:
        for line in profile:
            if line.startswith("events:"):
                events = line.split()[1:]
            if line.startswith(("summary:", "totals:")):
                counts = dict(zip(events, map(int, line.split()[1:]), strict=False))
                return counts["Ir"] + sum(
                    cost * counts.get(event, 0) for event, cost in _MISS_COST.items()
                )
    raise ValueError(f"no totals in {path}")


def _measure(
    sdk: str, name: str, case: str, calls: int, out_dir: Path, cache_sim: bool
) -> tuple[int, int]:
    """Run one worker under callgrind; return the calling thread's count and the others'."""
    prefix = out_dir / f"{name}.{case}.{calls}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--cache-sim={'yes' if cache_sim else 'no'}",
        f"--callgrind-out-file={prefix}",
        sys.executable,
        __file__,
        "--sdk",
        sdk,
        "--worker",
        name,
        "--case",
        case,
        "--calls",
        str(calls),
    ]
    # The CPU benchmarks' worker environment: MLflow offline and in memory, and a fixed hash seed (same
    # dict layouts, same counts, every run).
    env = clean_env()
    subprocess.run(command, check=True, capture_output=True, env=env)
    main_thread = _totals(f"{prefix}-01")
    others = sum(_totals(path) for path in glob.glob(f"{prefix}-*") if not path.endswith("-01"))
    return main_thread, others


def main(sdk: str, cache_sim: bool) -> int:
    """Measure every worker and case of one SDK, then print the markdown report."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; instruction counts need it (apt install valgrind)")
        return 2
    bench = _bench(sdk)
    workers = bench.workers  # the uninstrumented one first, named after the SDK
    jobs = [
        (sdk, name, case.key, calls)
        for case in bench.cases
        for name in workers
        for calls in CALLS[case.key]
    ]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        futures = {job: pool.submit(_measure, *job, Path(tmp), cache_sim) for job in jobs}
        try:
            counts = {job: future.result() for job, future in futures.items()}
        except subprocess.CalledProcessError as error:
            pool.shutdown(cancel_futures=True)
            print(f"a worker crashed: {error.cmd}\n{error.stderr.decode(errors='replace')}")
            return 1
    unit = "estimated cycles" if cache_sim else "instructions"
    print(f"# {bench.title.split(':')[0]}: {unit} per call, tracewire vs MLflow\n")
    print(
        f"- {machine()}; Python {platform.python_version()}; {sdk} {dist_version(sdk)}, "
        f"tracewire {dist_version('tracewire')}, mlflow-tracing {dist_version('mlflow-tracing')}"
    )
    if cache_sim:
        print(
            "- estimated cycles = instructions + 10 x L1 misses + 100 x last-level misses, "
            "from callgrind's cache simulation (`--cache-sim=yes`, this machine's cache sizes)"
        )
    print(
        f"- valgrind callgrind, `PYTHONHASHSEED=0`; per call = ({unit} of the large run - "
        "those of the small run) / extra calls (chat: 100, stream: 40); autolog on throughout\n"
    )
    print(
        "| case | uninstrumented | tracewire adds | mlflow adds | mlflow / tracewire "
        "| tracewire export thread | budget (tracewire) | result |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for case in bench.cases:
        small, large = CALLS[case.key]
        per_call = {}
        background = {}
        for name in workers:
            (main_small, other_small) = counts[(sdk, name, case.key, small)]
            (main_large, other_large) = counts[(sdk, name, case.key, large)]
            per_call[name] = (main_large - main_small) / (large - small)
            background[name] = (other_large - other_small) / (large - small)
        base = per_call[sdk]
        added = {lib: per_call[lib] - base for lib in LIBRARIES}
        pct = {lib: 100 * added[lib] / base for lib in added}
        print(
            f"| {case.title} | {base:,.0f} | {added['tracewire']:+,.0f} "
            f"({pct['tracewire']:+.2f} %) | {added['mlflow']:+,.0f} ({pct['mlflow']:+.1f} %) "
            f"| {overhead_ratio(added['mlflow'], added['tracewire'])} | {background['tracewire']:,.0f} "
            f"| ≤ {OVERHEAD_BUDGET_PCT:g} % | {_verdict(pct['tracewire'])} |"
        )
    return 0


def _verdict(tracewire_pct: float) -> str:
    """PASS or MISS; NOISE when the traced worker ran fewer instructions than the uninstrumented one.

    Tracing only adds code, so a count below the uninstrumented worker's is the workers' own
    difference (which classes collide in CPython's type-attribute cache, among others), larger
    than what tracing costs: it shows nothing about the budget.
    """
    if tracewire_pct < 0:
        return "NOISE"
    return "PASS" if tracewire_pct <= OVERHEAD_BUDGET_PCT else "MISS"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sdk", choices=SDKS, default="openai", help="the SDK to measure")
    parser.add_argument(
        "--cache-sim",
        action="store_true",
        help="simulate the caches and compare estimated cycles (several times slower)",
    )
    parser.add_argument("--worker", choices=(*SDKS, *LIBRARIES), help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=("chat", "stream"), help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        sys.exit(worker(arguments.sdk, arguments.worker, arguments.case, arguments.calls))
    sys.exit(main(arguments.sdk, arguments.cache_sim))
