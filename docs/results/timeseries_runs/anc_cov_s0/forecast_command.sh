build/apps/timeseries/df_forecast --checkpoint runs/ts/anc_cov_s0/best.pt --out runs/ts/anc_cov_s0/forecast --seed 0
