DROP TABLE price_experiment_exposures;
DROP TABLE price_experiment_variants;
DROP TABLE price_experiments;
