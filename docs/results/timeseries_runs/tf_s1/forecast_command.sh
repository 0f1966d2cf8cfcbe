build/apps/timeseries/df_forecast --checkpoint runs/ts/tf_s1/best.pt --out runs/ts/tf_s1/forecast --seed 1
