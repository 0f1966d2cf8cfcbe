build/apps/timeseries/df_forecast --checkpoint runs/ts/tf_s3/best.pt --out runs/ts/tf_s3/forecast --seed 3
