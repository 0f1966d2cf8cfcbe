#!/usr/bin/env python3
"""Statistics of df_forecast outputs that explain a CRPS_sum (numpy; used by scripts/timeseries_table.sh).

For each run folder given (…/forecast with forecasts.npy [S, W, P, D], context.npy [W, P, D], truth.npy
[W, P, D], original scale), prints one Markdown table row:
  jump           mean over windows and series of |median of the first forecast step - last context value|
  one-step std   mean over windows and series of the sample std of the first forecast step
  end error      mean |median - truth| at the last forecast step
  CRPS_sum       from the run's metrics.csv
and, with --header, the header plus a reference row: the true mean one-step move |truth[1] - truth[0]| and the
end error of persistence (the last context value held).
"""
import argparse
import csv
import os

import numpy as np


def load(folder):
    f = np.load(os.path.join(folder, "forecasts.npy"))  # [S, W, P, D]
    c = np.load(os.path.join(folder, "context.npy"))    # [W, P, D]
    t = np.load(os.path.join(folder, "truth.npy"))      # [W, P, D]
    return f, c, t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("folders", nargs="+", help="forecast folders written by df_forecast")
    p.add_argument("--header", action="store_true")
    a = p.parse_args()
    if a.header:
        f, c, t = load(a.folders[0])
        move = np.nanmean(np.abs(t[:, 0, :] - c[:, -1, :]))
        persistence_end = np.nanmean(np.abs(c[:, -1, :] - t[:, -1, :]))
        print("| run | jump | one-step sample std | end error | test CRPS_sum |")
        print("|---|---|---|---|---|")
        print(f"| truth: mean first-step move / persistence end error | {move:.4f} | | {persistence_end:.4f} | |")
    for folder in a.folders:
        f, c, t = load(folder)
        median = np.median(f, axis=0)  # [W, P, D]
        jump = np.nanmean(np.abs(median[:, 0, :] - c[:, -1, :]))
        spread = np.mean(np.std(f[:, :, 0, :], axis=0))
        end = np.nanmean(np.abs(median[:, -1, :] - t[:, -1, :]))
        metrics = {r["metric"]: float(r["value"]) for r in csv.DictReader(open(os.path.join(folder, "metrics.csv")))}
        name = os.path.basename(os.path.dirname(os.path.normpath(folder)))
        print(f"| {name} | {jump:.4f} | {spread:.4f} | {end:.4f} | {metrics['crps_sum']:.4f} |")


if __name__ == "__main__":
    main()
