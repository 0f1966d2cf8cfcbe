build/apps/timeseries/df_forecast --checkpoint runs/ts/nocov_s2/best.pt --out runs/ts/nocov_s2/forecast --seed 2
