build/apps/tools/df_train --config configs/timeseries_exchange_cpu.yaml --run-dir runs/ts/cov_s1 --set experiment.seed=1 --set timeseries.use_covariates=true
