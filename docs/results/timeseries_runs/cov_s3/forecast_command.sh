build/apps/timeseries/df_forecast --checkpoint runs/ts/cov_s3/best.pt --out runs/ts/cov_s3/forecast --seed 3
