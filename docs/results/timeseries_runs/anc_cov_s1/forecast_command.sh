build/apps/timeseries/df_forecast --checkpoint runs/ts/anc_cov_s1/best.pt --out runs/ts/anc_cov_s1/forecast --seed 1
