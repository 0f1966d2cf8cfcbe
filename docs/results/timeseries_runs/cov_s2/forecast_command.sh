build/apps/timeseries/df_forecast --checkpoint runs/ts/cov_s2/best.pt --out runs/ts/cov_s2/forecast --seed 2
