build/apps/timeseries/df_forecast --checkpoint runs/ts/tf_s2/best.pt --out runs/ts/tf_s2/forecast --seed 2
