build/apps/timeseries/df_forecast --checkpoint runs/ts/tf_s0/best.pt --out runs/ts/tf_s0/forecast --seed 0
