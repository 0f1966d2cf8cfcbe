build/apps/timeseries/df_forecast --checkpoint runs/ts/nocov_s3/best.pt --out runs/ts/nocov_s3/forecast --seed 3
