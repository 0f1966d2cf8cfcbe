build/apps/timeseries/df_forecast --checkpoint runs/ts/nocov_s0/best.pt --out runs/ts/nocov_s0/forecast --seed 0
