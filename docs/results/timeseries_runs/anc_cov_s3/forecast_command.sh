build/apps/timeseries/df_forecast --checkpoint runs/ts/anc_cov_s3/best.pt --out runs/ts/anc_cov_s3/forecast --seed 3
