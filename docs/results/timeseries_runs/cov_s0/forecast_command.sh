build/apps/timeseries/df_forecast --checkpoint runs/ts/cov_s0/best.pt --out runs/ts/cov_s0/forecast --seed 0
