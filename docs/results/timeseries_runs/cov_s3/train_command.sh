build/apps/tools/df_train --config configs/timeseries_exchange_cpu.yaml --run-dir runs/ts/cov_s3 --set experiment.seed=3 --set timeseries.use_covariates=true
