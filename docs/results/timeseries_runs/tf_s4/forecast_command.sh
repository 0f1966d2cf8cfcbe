build/apps/timeseries/df_forecast --checkpoint runs/ts/tf_s4/best.pt --out runs/ts/tf_s4/forecast --seed 4
