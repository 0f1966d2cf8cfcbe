build/apps/tools/df_train --config configs/timeseries_exchange_cpu.yaml --run-dir runs/ts/nocov_s4 --set experiment.seed=4 --set timeseries.use_covariates=false
