build/apps/timeseries/df_forecast --checkpoint runs/ts/nocov_s1/best.pt --out runs/ts/nocov_s1/forecast --seed 1
