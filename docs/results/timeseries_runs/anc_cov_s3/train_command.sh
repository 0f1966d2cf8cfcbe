build/apps/tools/df_train --config configs/timeseries_exchange_cpu.yaml --run-dir runs/ts/anc_cov_s3 --set experiment.seed=3 --set timeseries.use_covariates=true --set timeseries.anchor=last_context
