build/apps/timeseries/df_forecast --checkpoint runs/ts/nocov_s4/best.pt --out runs/ts/nocov_s4/forecast --seed 4
