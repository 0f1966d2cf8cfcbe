build/apps/timeseries/df_forecast --checkpoint runs/ts/cov_s1/best.pt --out runs/ts/cov_s1/forecast --seed 1
