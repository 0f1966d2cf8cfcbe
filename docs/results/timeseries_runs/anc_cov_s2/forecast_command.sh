build/apps/timeseries/df_forecast --checkpoint runs/ts/anc_cov_s2/best.pt --out runs/ts/anc_cov_s2/forecast --seed 2
