#!/usr/bin/env python3
"""Compare df_maze_eval runs episode by episode (standard library only).

  scripts/maze2d_compare_episodes.py BASE_DIR [OTHER_DIR ...]

For each run: mean score x100 +- s.e. and the dwell fraction (return / (episode length - first arrival),
averaged over episodes that reached the goal; 300 steps unless --steps). For every OTHER run: the
paired difference to BASE over the episode seeds both contain (same env seed = same start and goal).
Reads <dir>/episodes.csv; uses the first env and method found in each file (--first N: only the
episodes with the N lowest seeds of each run).
"""
import argparse
import csv
import math
import statistics


def load(path, first=None):
    with open(f"{path}/episodes.csv") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{path}/episodes.csv: no episodes")
    key = (rows[0]["env"], rows[0]["method"])
    run = {int(r["seed"]): r for r in rows if (r["env"], r["method"]) == key}
    return {s: run[s] for s in sorted(run)[:first]}


def mean_se(values):
    m = statistics.mean(values)
    return m, (statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base")
    p.add_argument("others", nargs="*")
    p.add_argument("--steps", type=int, default=300, help="episode length (umaze 300, medium 600, large 800)")
    p.add_argument("--first", type=int, default=None, help="only the episodes with the N lowest seeds")
    a = p.parse_args()
    base = load(a.base, a.first)
    for path in [a.base] + a.others:
        run = base if path == a.base else load(path, a.first)
        score = mean_se([float(r["score"]) for r in run.values()])
        dwell = [float(r["return"]) / (a.steps - int(r["first_arrival"]))
                 for r in run.values() if int(r["first_arrival"]) >= 0]
        line = f"{path}: {len(run)} episodes, score {score[0]:.1f} +- {score[1]:.1f}"
        if dwell:
            line += f", dwell fraction {statistics.mean(dwell):.2f} ({len(dwell)} reached)"
        if path != a.base:
            common = sorted(set(run) & set(base))
            diff = mean_se([float(run[s]["score"]) - float(base[s]["score"]) for s in common])
            line += f", paired difference to base {diff[0]:+.1f} +- {diff[1]:.1f} ({len(common)} seeds)"
        print(line)


if __name__ == "__main__":
    main()
