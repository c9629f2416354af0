#!/usr/bin/env python3
"""Times whole processes against their baselines and prints one Markdown table.

Each row is a command, its baseline (a C libyaml scan, a hello world, or another command) and a
goal for the ratio of their medians. The two run alternately, RUNS times each, so a machine that
gets busier slows both alike. A row may also carry a memory goal for the command's peak RSS.
Rows measured elsewhere (an apply against a rate floor) come in as fixed figures.

Usage: measure.py --runs N [--row 'LABEL|GOAL|COMMAND|BASELINE[|MAX_RSS_MB]']...
(MAX_RSS_MB `-` shows the peak without a goal for it.)
                  [--fixed 'LABEL|VALUE|BASELINE|RATIO|GOAL|VERDICT']...
Commands are split like a shell would (no expansion) and run with stdout and stderr discarded;
one that exits other than 0 or 2 (plan's "changes" code) stops the run. Exits 1 when a goal fails.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time


def run_once(command):
    """Wall time in milliseconds and peak RSS in MB of one run of COMMAND."""
    start = time.perf_counter()
    process = subprocess.Popen(shlex.split(command), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        sys.exit(f"error: `{command}` exited {code}: {process.stderr.read().decode(errors='replace')[:2000]}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def measure(command, baseline, runs):
    """Medians (ms) of COMMAND and BASELINE run alternately, and COMMAND's largest peak RSS (MB)."""
    run_once(command), run_once(baseline)  # warm the page cache
    ours, theirs, peak = [], [], 0.0
    for _ in range(runs):
        elapsed, rss = run_once(command)
        ours.append(elapsed)
        peak = max(peak, rss)
        theirs.append(run_once(baseline)[0])
    return statistics.median(ours), statistics.median(theirs), peak


def milliseconds(value):
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--row", action="append", default=[])
    parser.add_argument("--fixed", action="append", default=[])
    options = parser.parse_args()

    print("| measurement | ours | baseline | ratio | goal | |")
    print("|---|---|---|---|---|---|")
    failed = False
    for row in options.row:
        label, goal, command, baseline, *memory = row.split("|")
        ours, theirs, peak = measure(command, baseline, options.runs)
        ratio = ours / theirs
        passed = ratio <= float(goal)
        goal_text = f"≤ {goal}x"
        detail = ""
        if memory:
            detail = f", {peak:.0f} MB peak"
        if memory and memory[0] != "-":
            passed = passed and peak <= float(memory[0])
            goal_text += f", ≤ {memory[0]} MB"
        failed = failed or not passed
        print(
            f"| {label} | {milliseconds(ours)}{detail} | {milliseconds(theirs)} | {ratio:.2f}x | {goal_text} "
            f"| {'✅' if passed else '❌'} |",
            flush=True,
        )
    for row in options.fixed:
        label, value, baseline, ratio, goal, verdict = row.split("|")
        failed = failed or verdict != "pass"
        print(f"| {label} | {value} | {baseline} | {ratio} | {goal} | {'✅' if verdict == 'pass' else '❌'} |")
    print(f"\n{options.runs} alternating runs of each command and its baseline; medians.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
