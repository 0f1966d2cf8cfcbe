build/apps/timeseries/df_forecast --checkpoint runs/ts/anc_tf_s4/best.pt --out runs/ts/anc_tf_s4/forecast --seed 4
