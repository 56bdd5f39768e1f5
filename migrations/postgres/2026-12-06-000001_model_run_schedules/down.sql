ALTER TABLE model_runs DROP COLUMN schedule_id;
DROP TABLE model_run_schedules;
