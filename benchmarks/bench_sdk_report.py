"""The markdown report of the per-SDK autolog benchmarks (``bench_sdk.py``'s method).

One table for the calls (uninstrumented, and each library's paired off/on batches), one for the
``autolog()`` probes, and the footer that says whether the numbers can be trusted: traces stored,
token usage recorded, stream items seen, requests answered, network attempts, spread and noise.
Only the parent process imports this module.
"""

from __future__ import annotations

import platform
import random
import statistics
from typing import Any

from bench_core import (
    LIBRARIES,
    Plan,
    dist_version,
    fmt,
    load_average,
    machine,
    median,
    ratio,
    verdict,
)
from bench_sdk import (
    AUTOLOG_BUDGET_MS,
    METRICS,
    NOISE_TOLERANCE,
    OVERHEAD_BUDGET_PCT,
    PROBE_MEASURES,
    CallCase,
    SdkBench,
)


def render(
    bench: SdkBench,
    results: dict[str, dict[str, Any]],
    probes: dict[str, dict[str, Any]],
    plan: Plan,
    load_before: str,
) -> tuple[list[str], bool]:
    """Build the report's lines.

    Args:
        bench: The SDK's benchmark.
        results: The pooled results of each worker.
        probes: The pooled autolog probes of each library.
        plan: The rounds, batches and launches the run made.
        load_before: The load average when the run started.

    Returns:
        The markdown lines, and whether any worker, case or probe crashed.
    """
    lines = _header(bench, results, plan, load_before)
    lines += _case_table(bench, results, plan)
    lines += _autolog_table(bench, probes, plan.import_runs)
    footer, crashed = _footer(bench, results, probes)
    lines += footer
    lines += _spread(bench, results)
    lines += _resolution(bench, results, plan)
    lines += _noise_warning(bench, results)
    return lines, crashed


def _cell(data: dict[str, Any], *path: str) -> float | None:
    """Return the median of the list at ``path`` in a case's data, or ``None`` if absent."""
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return median(node) if node else None


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + fmt(abs(value))


def _overhead(delta: float | None, base: float | None) -> str:
    if delta is None or not base:
        return "n/a"
    return f"{_signed(delta)} µs ({'+' if delta >= 0 else '-'}{abs(delta) / base * 100:.1f} %)"


def overhead_ratio(mlflow_delta: float | None, tracewire_delta: float | None) -> str:
    """MLflow's overhead over tracewire's, or why there is no ratio (a missing or non-positive one)."""
    if mlflow_delta is None or tracewire_delta is None:
        return "n/a"
    if tracewire_delta <= 0:
        return "n/a (tracewire ≤ 0)"
    return ratio(mlflow_delta, tracewire_delta)


def _mlflow_distribution() -> str:
    for dist in ("mlflow", "mlflow-tracing"):
        version = dist_version(dist)
        if version != "not installed":
            return f"{dist} {version}"
    return "mlflow not installed"


def _header(
    bench: SdkBench, results: dict[str, dict[str, Any]], plan: Plan, load_before: str
) -> list[str]:
    pairs = plan.rounds * plan.batches
    sdk = bench.sdk
    http = next((results[name]["http"] for name in bench.workers if results[name].get("http")), "")
    return [
        f"# {bench.title}",
        "",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{machine()}; load average 1/5/15 min: {load_before} at start, {load_average()} at end",
        f"- {sdk} {dist_version(sdk)} (through {http or 'its HTTP library'}'s `MockTransport`, "
        f"in process), tracewire {results['tracewire'].get('version') or dist_version('tracewire')}"
        f", {_mlflow_distribution()}",
        f"- 3 workers (uninstrumented, tracewire, mlflow), each its own subprocess, "
        f"{plan.rounds} rounds in rotating order; per case and round {plan.warmup} warm-up + "
        f"{plan.batches} measured batches (calls per batch: "
        + ", ".join(f"{case.key} {case.calls}" for case in bench.cases)
        + f"), so each number is the median of {pairs} per-batch means. In the library workers "
        "every batch with autolog on is paired with one with autolog off, in alternating order; "
        "the overhead is the median of the paired differences, and % is over the same worker's "
        "off batches",
        "- **caller CPU** = `time.thread_time_ns()` of the calling thread / calls (budget). "
        "**process CPU** = `time.process_time_ns()` from the first call until all traces are in "
        "the store, / calls: includes background export threads. **wall** = `perf_counter` over "
        "the same span",
        f"- MLflow: `mlflow.{sdk}.autolog()`, default pipeline, exporter writing to an in-memory "
        f"dict (as in bench_core.py); tracewire: `tracewire.{sdk}.autolog()`, default in-memory "
        "destination. No network (socket guard in every subprocess)",
        *(f"- {note}" for note in bench.notes),
        "",
    ]


def overhead_interval(
    paired: list[float], base: float, batches_per_round: int, draws: int = 2000
) -> tuple[float, float]:
    """A 95 % interval for the median paired overhead, in % of ``base``, by rounds.

    The rounds, not the batches, are resampled (a cluster bootstrap): on a shared machine the
    overhead also moves between worker processes (memory layout, neighbours' load), and
    resampling batches as if independent would hide that. The seed is fixed, so a report is
    reproducible from its data.

    Args:
        paired: The paired (on - off) differences, round after round.
        base: The off batches' median, the denominator of the percentage.
        batches_per_round: How many consecutive entries of ``paired`` one round produced.
        draws: Bootstrap resamples.

    Returns:
        The 2.5th and 97.5th percentiles of the resampled medians, in %.
    """
    size = max(1, batches_per_round)
    rounds = [paired[start : start + size] for start in range(0, len(paired), size)]
    draw = random.Random(20261121)
    medians = sorted(
        statistics.median(
            [value for chunk in draw.choices(rounds, k=len(rounds)) for value in chunk]
        )
        for _ in range(draws)
    )
    low, high = medians[int(draws * 0.025)], medians[int(draws * 0.975) - 1]
    return low / base * 100, high / base * 100


def _budget_verdict(interval: tuple[float, float]) -> str:
    """PASS when the whole interval is within the budget, MISS when all of it is above."""
    low, high = interval
    if high <= OVERHEAD_BUDGET_PCT:
        return "PASS"
    if low > OVERHEAD_BUDGET_PCT:
        return "MISS"
    return "UNSURE"


def _case_table(bench: SdkBench, results: dict[str, dict[str, Any]], plan: Plan) -> list[str]:
    """One row per case and measure; each library shows its own off and on batches.

    The overhead is the median of the paired differences, so it can differ a little from the
    difference of the two medians shown beside it. The budget verdict uses the 95 % interval of
    that median (see :func:`overhead_interval`), not the median alone.
    """
    lines = [
        "| # | case | measure | uninstrumented worker µs | tracewire off → on µs "
        "| tracewire overhead | mlflow off → on µs | mlflow overhead | overhead ratio mlflow/tw "
        "| budget (tracewire) | result |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    names = {"cpu_us": "caller CPU", "proc_us": "process CPU", "wall_us": "wall"}
    for number, case in enumerate(bench.cases, start=1):
        data = {name: results[name]["cases"].get(case.key, {}) for name in bench.workers}
        for letter, metric in zip("abc", METRICS, strict=True):
            bare = _cell(data[bench.sdk], "samples", "off", metric)
            cells = [f"{number}{letter}", case.title if letter == "a" else "", names[metric]]
            cells.append("CRASH" if bare is None else fmt(bare))
            deltas: dict[str, float | None] = {}
            offs: dict[str, float | None] = {}
            for name in LIBRARIES:
                on = _cell(data[name], "samples", "on", metric)
                offs[name] = _cell(data[name], "samples", "off", metric)
                deltas[name] = _cell(data[name], "paired", metric)
                shown = "CRASH" if on is None else f"{fmt(offs[name])} → {fmt(on)}"
                cells += [shown, _overhead(deltas[name], offs[name])]
            cells.append(overhead_ratio(deltas["mlflow"], deltas["tracewire"]))
            if metric == "cpu_us":
                off = offs["tracewire"]
                paired = data["tracewire"].get("paired", {}).get(metric, [])
                if not paired or not off:
                    cells += [f"≤ {OVERHEAD_BUDGET_PCT:g} % over autolog off", "CRASH"]
                else:
                    interval = overhead_interval(paired, off, plan.batches)
                    cells += [
                        f"≤ {OVERHEAD_BUDGET_PCT:g} % over autolog off; 95 % interval "
                        f"{interval[0]:+.1f} to {interval[1]:+.1f} %",
                        _budget_verdict(interval),
                    ]
            else:
                cells += ["(no budget)", ""]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _autolog_table(bench: SdkBench, probes: dict[str, dict[str, Any]], runs: int) -> list[str]:
    number = len(bench.cases) + 1
    sdk = bench.sdk
    lines = [
        "",
        f"| {number} | `X.{sdk}.autolog()` right after `import {sdk}`, median of {runs} fresh "
        "interpreters | tracewire | mlflow | ratio mlflow/tw | budget (tracewire) | result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    medians = {
        name: {key: median(value) for key, value in probes[name].items() if key in PROBE_MEASURES}
        for name in LIBRARIES
        if "autolog_ms" in probes[name]
    }
    tw, ml = medians.get("tracewire", {}), medians.get("mlflow", {})
    wall = [tw.get("autolog_ms"), ml.get("autolog_ms")]
    result = "CRASH" if wall[0] is None else verdict(wall[0] <= AUTOLOG_BUDGET_MS)
    lines.append(
        f"| {number}a | wall ms | {_ms(wall[0])} | {_ms(wall[1])} | {ratio(wall[1], wall[0])} "
        f"| ≤ {AUTOLOG_BUDGET_MS:g} ms | {result} |"
    )
    cpu = [tw.get("autolog_cpu_ms"), ml.get("autolog_cpu_ms")]
    lines.append(
        f"| {number}b | process CPU ms | {_ms(cpu[0])} | {_ms(cpu[1])} "
        f"| {ratio(cpu[1], cpu[0])} | | |"
    )
    modules = [
        "CRASH" if not data else f"{data['new_modules']:.0f} ({data['new_sdk_modules']:.0f})"
        for data in (tw, ml)
    ]
    lines.append(
        f"| {number}c | modules the call imported (of them `{sdk}.*`) | {modules[0]} "
        f"| {modules[1]} | | | |"
    )
    return lines


def _ms(value: float | None) -> str:
    return "CRASH" if value is None else fmt(value)


def _usage_check(
    bench: SdkBench, library: str, case: CallCase, trace: dict[str, Any] | None
) -> str:
    """Describe the last recorded trace and whether its token usage is the mock's."""
    if not trace or not trace.get("found"):
        return "last trace: **none recorded (!)**"
    span_usage = trace.get("span_usage") or {}
    trace_usage = trace.get("trace_usage") or {}
    ok = all(
        span_usage.get(key) == value and trace_usage.get(key) == value
        for key, value in bench.expected_usage.items()
    )
    gap = bench.usage_gaps.get((library, case.key))
    if ok:
        mark = "usage OK"
    elif gap is not None and not span_usage and not trace_usage:
        mark = f"no usage, as expected: {gap}"
    else:
        mark = f"**usage is not {dict(bench.expected_usage)} (!)**"
    return (
        f"last trace: {trace['spans']} span{'' if trace['spans'] == 1 else 's (!)'} "
        f"`{trace['span_name']}` ({trace['span_type']}, "
        f"{trace['state']}, {trace['span_events']} span events, output `{trace.get('output')}`), "
        + (
            f"span and trace usage {span_usage}"
            if span_usage == trace_usage
            else f"span usage {span_usage or None}, trace usage {trace_usage or None}"
        )
        + f": {mark}"
    )


def _case_notes(bench: SdkBench, name: str, result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Return one worker's notes per case (traces, usage, stream items) and its crashed cases."""
    notes, crashes = [], []
    for case in bench.cases:
        data = result["cases"].get(case.key, {"error": "missing"})
        if "error" in data:
            crashes.append(
                f"- **{bench.label(name)} case {case.key} crashed**:\n```\n{data['error']}```"
            )
            continue
        parts = []
        if name != bench.sdk:
            traced, expected = data["traced_on"], data["expected_on"]
            parts.append(
                f"traces stored {traced}" + ("" if traced == expected else f"/{expected} (!)")
            )
            off = data["traced_off"]
            parts.append(f"with autolog off {off}" + ("" if off == 0 else " (!)"))
            parts.append(_usage_check(bench, name, case, data.get("last_trace")))
        if case.stream_items is not None:
            seen = sorted(set(data["items_seen"]))
            mark = "" if seen == [case.stream_items] else " (!)"
            parts.append(f"{case.item_name} the caller saw per call {seen}{mark}")
        if parts:
            notes.append(f"{case.key}: " + "; ".join(parts))
    return notes, crashes


def _footer(
    bench: SdkBench, results: dict[str, dict[str, Any]], probes: dict[str, dict[str, Any]]
) -> tuple[list[str], bool]:
    """Return the integrity notes (traces, usage, requests, network) and whether anything crashed."""
    lines = [""]
    crashed = False
    for name in bench.workers:
        result, label = results[name], bench.label(name)
        if "error" in result:
            crashed = True
            lines.append(f"- **{label} worker crashed**:\n```\n{result['error']}```")
            continue
        notes, crashes = _case_notes(bench, name, result)
        crashed = crashed or bool(crashes)
        lines += crashes
        health = ", ".join(f"{key}={value}" for key, value in result.get("health", {}).items())
        attempts = result.get("network_attempts", [])
        lines.append(
            f"- {label}: "
            + "".join(note + " — " for note in notes)
            + bench.request_note(result.get("requests", {}))
            + (f"; {health}" if health else "")
            + f"; network attempts {len(attempts)}"
            + (f" {attempts[:3]} (!)" if attempts else "")
        )
        if "close_error" in result:
            lines.append(f"- {label} close() failed:\n```\n{result['close_error']}```")
    _module, class_name, method = bench.patched
    for name in LIBRARIES:
        probe = probes[name]
        if "error" in probe:
            crashed = True
            lines.append(f"- **{name} autolog probe crashed**:\n```\n{probe['error']}```")
            continue
        if "autolog_ms" not in probe:
            continue
        attempts = probe.get("network_attempts", [])
        lines.append(
            f"- {name} autolog probes: `import {bench.sdk}` {median(probe['import_sdk_ms']):.0f} "
            f"ms, then `import {name}` {median(probe['import_library_ms']):.0f} ms (not counted "
            f"in row {len(bench.cases) + 1}); `{class_name}.{method}` was patched (and restored "
            f"by `autolog(disable=True)`): {'yes' if probe.get('patched') else 'NO (!)'}; "
            f"network attempts {len(attempts)}" + (f" {attempts[:3]} (!)" if attempts else "")
        )
    return lines, crashed


def _resolution(bench: SdkBench, results: dict[str, dict[str, Any]], plan: Plan) -> list[str]:
    """Show the A/A comparison: the uninstrumented worker's identical batches, paired as off/on are.

    Nothing differs between the two batches of a pair but when they ran, so the median difference
    should be 0 and its interval, computed as the budget's is, is how wide the host's drift alone
    makes an overhead's interval: the smallest margin to the budget a verdict can resolve here.
    """
    parts = []
    for case in bench.cases:
        data = results[bench.sdk]["cases"].get(case.key, {})
        paired = data.get("paired", {}).get("cpu_us", [])
        off = _cell(data, "samples", "off", "cpu_us")
        if not paired or not off:
            continue
        low, high = overhead_interval(paired, off, plan.batches)
        parts.append(
            f"{case.key} {_overhead(statistics.median(paired), off)}, 95 % interval "
            f"{low:+.1f} to {high:+.1f} %"
        )
    if not parts:
        return []
    return [
        "- A/A check, the resolution of the budget verdict: the uninstrumented worker pairs two "
        "identical batches as the library workers pair off and on, so its differences are the "
        "host's drift alone: " + "; ".join(parts)
    ]


def _noise_warning(bench: SdkBench, results: dict[str, dict[str, Any]]) -> list[str]:
    """Compare the uninstrumented batches of the three workers (same work, same SDK).

    The library workers' "off" batches run the SDK unpatched, exactly like the uninstrumented
    worker, so all three should agree; a gap means the machine was busier during one worker, or
    that merely importing the library (autolog off) slows the SDK down.
    """
    lines = []
    for case in bench.cases:
        values = {
            name: _cell(results[name]["cases"].get(case.key, {}), "samples", "off", "cpu_us")
            for name in bench.workers
        }
        known = {name: value for name, value in values.items() if value is not None}
        if len(known) < 2:
            continue
        shown = ", ".join(f"{bench.label(name)} {fmt(value)}" for name, value in known.items())
        spread = max(known.values()) / min(known.values()) - 1
        flag = (
            f" — **noisy: {spread * 100:.0f} % apart**; rerun on a quieter machine or with more "
            "`--rounds`"
            if spread > NOISE_TOLERANCE
            else ""
        )
        lines.append(
            f"- {case.key}: caller CPU µs of the batches with autolog off, by worker: {shown}"
            + flag
        )
    return lines


def _spread(bench: SdkBench, results: dict[str, dict[str, Any]]) -> list[str]:
    """Show the quartiles of the paired caller-CPU differences: how sure each overhead is."""
    parts = []
    for case in bench.cases:
        shown = []
        for name in LIBRARIES:
            node = results[name]["cases"].get(case.key, {}).get("paired", {}).get("cpu_us", [])
            if len(node) >= 2:
                q1, q2, q3 = statistics.quantiles(node, n=4)
                shown.append(f"{name} {_signed(q1)} / {_signed(q2)} / {_signed(q3)}")
        if shown:
            parts.append(f"{case.key}: " + ", ".join(shown))
    if not parts:
        return []
    return [
        "- quartiles of the paired caller-CPU differences (on - off, µs per call): "
        + "; ".join(parts)
    ]
