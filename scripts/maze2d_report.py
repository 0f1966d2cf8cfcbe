#!/usr/bin/env python3
"""Writes docs/results/maze2d.md from the runs of scripts/maze2d_table.sh (standard library only).

Every number on the page is read from the runs' summary.csv / selection.csv / logs, except the paper's own
figures, which are quoted from its Table 1 with their units.
"""
import argparse
import csv
import glob
import math
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone

MAZES = ["umaze", "medium", "large"]
NAMES = {"umaze": "U-Maze", "medium": "Medium", "large": "Large"}
# Paper, Table 1. MPPI / CQL / IQL and the two Diffuser columns come from the Diffuser paper and are D4RL
# normalised scores x100; the paper's own DF columns report the episode reward (appendix D.8; the authors'
# code logs the raw summed reward).
PAPER = {
    # env: (MPPI, CQL, IQL, Diffuser*, Diffuser w/ diffused action, DF w/o MCG, DF)
    ("umaze", False): (33.2, 5.7, 47.4, "113.9 ± 3.1", "6.3 ± 2.1", "110.1 ± 3.9", "116.7 ± 2.0"),
    ("medium", False): (10.2, 5.0, 34.9, "121.5 ± 2.7", "13.5 ± 2.3", "136.1 ± 10.2", "149.4 ± 7.5"),
    ("large", False): (5.1, 12.5, 58.6, "123.0 ± 6.4", "6.3 ± 2.1", "142.8 ± 5.6", "159.0 ± 2.7"),
    ("umaze", True): (41.2, "–", 24.8, "128.9 ± 1.8", "32.8 ± 1.7", "107.7 ± 4.9", "119.1 ± 4.0"),
    ("medium", True): (15.4, "–", 12.1, "127.2 ± 3.4", "22.0 ± 2.7", "145.6 ± 6.5", "152.3 ± 9.9"),
    ("large", True): (8.0, "–", 13.9, "132.1 ± 5.8", "6.9 ± 1.7", "129.8 ± 1.5", "167.1 ± 2.7"),
}
PAPER_AVG = {False: (16.2, 7.7, 47.0, "119.5", "8.7", "129.67", "141.7"),
             True: (21.5, "–", 16.9, "129.4", "20.6", "127.7", "146.2")}
# Our columns: (run suffix, eval folder, method row).
OURS = {
    "fs_pd": ("_fs", "eval_diffuser", "diffuser"),
    "same_pd": ("", "eval_same_network_diffuser", "diffuser"),
    "fs_actions": ("_fs", "eval_diffuser_actions", "diffuser_actions"),
    "same_actions": ("", "eval_same_network_diffuser_actions", "diffuser_actions"),
    "df_no_mcg": ("", "eval_no_mcg", "df_no_mcg"),
    "df": ("", "eval", "df"),
    "df_pd": ("", "eval_pd", "df"),
}


def read_summary(path, env, method):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["env"] == env and row["method"] == method:
                return {k: (float(v) if k not in ("env", "method") else v) for k, v in row.items()}
    return None


def cell(r, key):
    if r is None:
        return "not run"
    return f"{r[key + '_mean']:.1f} ± {r[key + '_se']:.1f}"


def train_seconds(run_dir):
    """Training wall time (train_resumable sums the parts of an interrupted run); a seed-selected run: the sum
    over its seeds."""
    own = f"{run_dir}/train_seconds.txt"
    paths = [own] if os.path.exists(own) else sorted(glob.glob(f"{run_dir}_seed*/train_seconds.txt"))
    return sum(float(open(p).read()) for p in paths) if paths else None


def config_value(path, section, key):
    if not os.path.exists(path):
        return "?"
    current = None
    for line in open(path):
        if re.match(r"^\S", line):
            current = line.split(":")[0].strip()
        elif current == section and line.strip().startswith(key + ":"):
            return line.split(":", 1)[1].split("#")[0].strip()
    return "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--suffix", default="_cpu")
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--large-steps", type=int, default=600)
    p.add_argument("--out", default="docs/results/maze2d.md")
    p.add_argument("--runs-root", default="runs", help="folder holding maze2d_<maze><suffix>{,_fs}")
    p.add_argument("--fresh", default=None,
                   help="space-separated run names made by the current code (default: every run found)")
    p.add_argument("--numerics", default="", help="report mode: the fingerprint the fresh runs share")
    p.add_argument("--build-numerics", default="", help="report mode: this build's fingerprint")
    a = p.parse_args()
    fresh = set(a.fresh.split()) if a.fresh is not None else None

    def run(maze, fs=""):
        name = f"maze2d_{maze}{a.suffix}{fs}"
        # A run made by other code reads as not run: a folder name that does not exist.
        if fresh is not None and name not in fresh:
            return os.path.join(a.runs_root, "not-made-by-this-code", name)
        return os.path.join(a.runs_root, name)

    def made_at(maze):
        shas = []
        for fs in ("", "_fs"):
            f = f"{run(maze, fs)}/commit.txt"
            if os.path.exists(f):
                shas.append(open(f).read().strip()[:7])
        return ", ".join(sorted(set(shas)))
    results = {}
    for maze in MAZES:
        for multi in (False, True):
            env = f"maze2d-{maze}-multi-v1" if multi else f"maze2d-{maze}-v1"
            for col, (fs, folder, method) in OURS.items():
                results[(maze, multi, col)] = read_summary(f"{run(maze, fs)}/{folder}/summary.csv", env, method)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = []
    w = out.append
    w("# Maze2D planning with Diffusion Forcing (paper section 4.2, Table 1)")
    w("")
    w(f"Written by `scripts/maze2d_table.sh` (its `report` mode rewrites this page from the runs archived in "
      f"`{a.runs_root}`, filled in maze by maze) at commit {commit} on {datetime.now(timezone.utc):%Y-%m-%d}. Environment faithfulness (MuJoCo point mass, "
      "waypoint expert, D4RL datasets) is in [maze2d_env.md](maze2d_env.md).")
    if a.numerics and a.numerics != a.build_numerics:
        w(f"Rewritten from the archive alone: its runs were made by a build with numerics fingerprint "
          f"`{a.numerics}`; the build that wrote this page has `{a.build_numerics}` (a fingerprint moves with the "
          "CPU kind as well as with the code: `scripts/maze2d_table.sh cpu` redoes the runs at this build).")
    w("")
    w("## What was run")
    w("")
    for maze in MAZES:
        cfg = f"configs/maze2d_{maze}{a.suffix}.yaml"
        made = made_at(maze)
        stored = f"{run(maze)}/config.yaml"
        if not os.path.exists(stored):  # not run yet: the budget it would run with
            stored = cfg
        t_df = train_seconds(run(maze))
        t_fs = train_seconds(run(maze, '_fs'))
        fmt = lambda s: f"{s / 60:.0f} min" if s else "?"
        seeds = "best of seeds 0-3 on validation episodes" if maze == "umaze" else "one seed"
        w(f"* {NAMES[maze]}: `{cfg}` ({config_value(stored, 'training', 'steps')} steps × batch "
          f"{config_value(stored, 'training', 'batch_size')}, network size {config_value(stored, 'model', 'network_size')}, "
          f"z {config_value(stored, 'model', 'z_dim')}, {config_value(stored, 'diffusion', 'sampling_steps')} DDIM steps, "
          f"plans of up to {config_value(stored, 'maze', 'max_horizon')} tokens, guidance "
          f"{config_value(stored, 'sampling', 'guidance_scale')}, MCG {config_value(stored, 'sampling', 'mcg_samples')}); "
          f"{seeds}; training wall-clock (one thread per run, two or more runs side by side on 2 cores; U-Maze: summed over its "
          f"seeds): DF {fmt(t_df)}, "
          f"full-sequence {fmt(t_fs)}; " + (f"runs made at commit {made}." if made else
                                               f"**not run yet** (`MAZES={maze} scripts/maze2d_table.sh cpu`, "
                                               "about an hour on 2 cores)."))
    w(f"* Every cell: {a.episodes} episodes (env seeds 0..{a.episodes - 1}, one batch), mean ± standard error. "
      f"Episodes last the env's limit (U-Maze 300, Medium 600 steps) except Large, which is evaluated for "
      f"{a.large_steps} steps as the reference does (its env allows 800; `LARGE_STEPS=800` evaluates that). "
      "Normalised score = 100 · (return − REF_MIN) / (REF_MAX − REF_MIN) with D4RL's constants, whose REF_MAX "
      "is the expert's return over the env's full episode (800 steps for Large).")
    w("* Columns marked *trained full-sequence* are the Diffuser stand-in: the same architecture trained with "
      "`diffusion.training_noise: full_sequence` (one noise level shared by the whole sequence) on the same "
      "data and budget, planned as Diffuser does (one plan of Diffuser's length, start = current state, "
      "goal at rest at the last frame by replacement) and tracked by Diffuser's PD rule or executing its "
      "diffused actions. *Same network* columns sample the Diffusion Forcing model that way.")
    w("")
    w("## Table 1, D4RL normalised score ×100 (the unit of the Diffuser, MPPI, CQL, IQL columns)")
    w("")
    w("The paper's own DF columns are in episode reward, not in this unit (next table).")
    w("")
    w("| Env | MPPI | CQL | IQL | Diffuser* (paper) | Diffuser, trained full-sequence, PD (ours) | "
      "Diffuser*, same network (ours) | Diffuser w/ diffused action (paper) | trained full-sequence (ours) | "
      "same network (ours) | DF w/o MCG (ours) | DF (ours) | DF + PD tracking (ours) |")
    w("|" + "---|" * 13)
    cols = ["fs_pd", "same_pd", "fs_actions", "same_actions", "df_no_mcg", "df", "df_pd"]
    for multi in (False, True):
        for maze in MAZES:
            pp = PAPER[(maze, multi)]
            o = {c: cell(results[(maze, multi, c)], "score") for c in cols}
            w(f"| {'Multi2D' if multi else 'Maze2D'} {NAMES[maze]} | {pp[0]} | {pp[1]} | {pp[2]} | {pp[3]} | "
              f"{o['fs_pd']} | {o['same_pd']} | {pp[4]} | {o['fs_actions']} | {o['same_actions']} | "
              f"{o['df_no_mcg']} | **{o['df']}** | {o['df_pd']} |")
        avg = {}
        for c in cols:
            vals = [results[(m, multi, c)]["score_mean"] for m in MAZES if results[(m, multi, c)]]
            avg[c] = f"{sum(vals) / len(vals):.1f}" if len(vals) == 3 else "–"
        pa = PAPER_AVG[multi]
        w(f"| {'Multi-task' if multi else 'Single-task'} average | {pa[0]} | {pa[1]} | {pa[2]} | {pa[3]} | "
          f"{avg['fs_pd']} | {avg['same_pd']} | {pa[4]} | {avg['fs_actions']} | {avg['same_actions']} | "
          f"{avg['df_no_mcg']} | {avg['df']} | {avg['df_pd']} |")
    w("")
    w("## Table 1, episode reward (raw summed reward; the unit of the paper's DF columns)")
    w("")
    w("| Env | DF w/o MCG (paper) | DF w/o MCG (ours) | DF (paper) | DF (ours) | DF + PD (ours) | "
      "Diffuser, trained full-sequence, PD (ours) | Diffuser, trained, diffused actions (ours) | "
      "Diffuser*, same network (ours) | same network, diffused actions (ours) |")
    w("|" + "---|" * 10)
    for multi in (False, True):
        for maze in MAZES:
            pp = PAPER[(maze, multi)]
            o = {c: cell(results[(maze, multi, c)], "return") for c in cols}
            w(f"| {'Multi2D' if multi else 'Maze2D'} {NAMES[maze]} | {pp[5]} | {o['df_no_mcg']} | {pp[6]} | "
              f"**{o['df']}** | {o['df_pd']} | {o['fs_pd']} | {o['fs_actions']} | {o['same_pd']} | "
              f"{o['same_actions']} |")
    w("")
    w("## Do the paper's orderings hold?")
    w("")
    w("Differences of normalised scores in standard errors of the difference (|z| < 2: within noise).")
    w("")
    w("| Env | DF − DF w/o MCG (MCG helps) | DF − Diffuser trained (PD) | Diffuser trained: PD − diffused actions | "
      "DF − Diffuser trained, diffused actions (DF's own actions vs Diffuser's) |")
    w("|---|---|---|---|---|")
    verdicts = {"mcg": 0, "df_vs_diffuser": 0, "pd_vs_actions": 0, "actions": 0}
    reversed_ = dict.fromkeys(verdicts, 0)  # significantly negative: the paper's ordering reversed
    envs_run = 0
    pd_helps_df = []  # "env (z)" where tracking DF's planned states by PD beats executing DF's own actions

    def diff(x, y, key):
        if x is None or y is None:
            return "not run", None
        d = x[key + "_mean"] - y[key + "_mean"]
        se = math.hypot(x[key + "_se"], y[key + "_se"])
        z = d / se if se > 0 else float("inf")
        return f"{d:+.1f} (z {z:+.1f})", z
    for multi in (False, True):
        for maze in MAZES:
            r = lambda c: results[(maze, multi, c)]
            row = []
            for name, (x, y) in {"mcg": ("df", "df_no_mcg"), "df_vs_diffuser": ("df", "fs_pd"),
                                 "pd_vs_actions": ("fs_pd", "fs_actions"), "actions": ("df", "fs_actions")}.items():
                text, z = diff(r(x), r(y), "score")
                if z is not None and z >= 2:
                    verdicts[name] += 1
                if z is not None and z <= -2:
                    reversed_[name] += 1
                row.append(text)
            if r("df") is not None:
                envs_run += 1
                _, z = diff(r("df_pd"), r("df"), "score")
                if z is not None and z >= 2:
                    pd_helps_df.append(f"{'Multi2D' if multi else 'Maze2D'} {NAMES[maze]} (z {z:+.1f})")
            w(f"| {'Multi2D' if multi else 'Maze2D'} {NAMES[maze]} | " + " | ".join(row) + " |")
    w("")
    w(f"Significantly positive (z ≥ 2) in: MCG helps {verdicts['mcg']}/6 envs; DF beats the trained Diffuser "
      f"stand-in {verdicts['df_vs_diffuser']}/6; the trained Diffuser's PD tracking beats its own diffused "
      f"actions {verdicts['pd_vs_actions']}/6; DF's own actions beat the trained Diffuser's diffused actions "
      f"{verdicts['actions']}/6. The paper reports all four orderings in every env. Significantly reversed "
      f"(z ≤ −2) in: MCG {reversed_['mcg']}/6; DF against the trained stand-in {reversed_['df_vs_diffuser']}/6; "
      f"PD against diffused actions {reversed_['pd_vs_actions']}/6; DF's actions against Diffuser's "
      f"{reversed_['actions']}/6. ({envs_run} of 6 envs run.)")
    w("")
    w(f"Not one of the paper's orderings: tracking DF's planned states with Diffuser's PD rule (DF + PD) beats "
      f"executing DF's own diffused actions significantly in {len(pd_helps_df)} of {envs_run} envs"
      + (f": {', '.join(pd_helps_df)}" if pd_helps_df else "") + "."
      + (" At this budget DF's planned states are more useful than its planned actions."
         if envs_run and 2 * len(pd_helps_df) >= envs_run else ""))
    w("")
    w("## Details of every cell")
    w("")
    w("| env | column | return ± s.e. | score ± s.e. | reached | first arrival (steps) | plan latency (ms, median) |")
    w("|---|---|---|---|---|---|---|")
    for maze in MAZES:
        for multi in (False, True):
            for c in cols:
                r = results[(maze, multi, c)]
                if r is None:
                    continue
                env = f"maze2d-{maze}{'-multi' if multi else ''}-v1"
                w(f"| {env} | {c} | {cell(r, 'return')} | {cell(r, 'score')} | {int(r['reached'])}/{int(r['episodes'])} | "
                  f"{r['arrival_mean']:.1f} | {r['latency_median_ms']:.0f} |")
    w("")
    w("Columns: fs = the trained full-sequence model, same = the DF model sampled Diffuser's way, pd = Diffuser's "
      "PD tracking of the planned states, actions = executing the planned actions, df_pd = DF tracked by PD. "
      "Latency: one planning call for the whole batch of episodes on one shared core (Diffuser plans once).")
    sel = [(f"{run('umaze')}/selection.csv", "Diffusion Forcing (DF on validation)"),
           (f"{run('umaze', '_fs')}/selection.csv", "trained full-sequence (Diffuser on validation)")]
    if any(os.path.exists(f) for f, _ in sel):
        w("")
        w("## U-Maze seed selection")
        w("")
        w("Validation: 64 episodes, env seeds 1000..1063 (never the reported ones). Normalised score ± s.e.")
        w("")
        w("| model | " + " | ".join(f"seed {s}" for s in range(4)) + " | kept |")
        w("|---|---|---|---|---|---|")
        for f, label in sel:
            if not os.path.exists(f):
                continue
            rows = list(csv.DictReader(open(f)))
            kept = open(os.path.join(os.path.dirname(f), "selected_seed.txt")).read().strip()
            w(f"| {label} | " + " | ".join(f"{float(r['validation_score']):.1f} ± {float(r['validation_se']):.1f}"
                                            for r in rows) + f" | seed {kept} |")
    os.makedirs(os.path.join(os.path.dirname(a.out), "maze2d"), exist_ok=True)
    pictures = []
    for maze in MAZES:
        for folder, method, ep in (("eval", "df", 0), ("eval_diffuser", "diffuser", 0)):
            src = f"{run(maze, '_fs' if folder == 'eval_diffuser' else '')}/{folder}/maze2d-{maze}-v1_{method}_ep{ep}.png"
            if os.path.exists(src):
                name = f"{maze}_{'diffuser_trained' if folder == 'eval_diffuser' else 'df'}_ep{ep}.png"
                shutil.copy(src, os.path.join(os.path.dirname(a.out), "maze2d", name))
                pictures.append((name, f"{NAMES[maze]}, {'trained Diffuser stand-in' if folder == 'eval_diffuser' else 'DF'}, episode {ep}"))
    if pictures:
        w("")
        w("## Pictures")
        w("")
        w("Written by df_maze_eval for the first episodes: walls grey, start green, goal red, the first plan "
          "orange, the executed path blue.")
        w("")
        w(" ".join(f"![{t}](maze2d/{n})" for n, t in pictures))
    w("")
    w("## Reading it")
    w("")
    w("Our models are the reduced CPU configurations (16-32× narrower networks, ~2000× fewer training samples "
      "than the paper); the paper-scale configs (`configs/maze2d_{umaze,medium,large}.yaml`, `scripts/maze2d_table.sh "
      "paper`) need a GPU for hours and were not run in this task. Compare like with like: our normalised scores "
      "with the Diffuser/MPPI/CQL/IQL columns of the first table, our episode rewards with the paper's DF columns of "
      "the second; the orderings table says which of the paper's claims hold at this budget.")
    open(a.out, "w").write("\n".join(out) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
