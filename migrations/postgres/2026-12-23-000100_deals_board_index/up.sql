-- The board's totals read a pipeline's open deals by stage and currency with their
-- amounts (and owner and team, for callers who see only some deals): an index holding
-- all of these answers the sums from the index alone, without visiting each deal's row.
CREATE INDEX deals_board_idx ON deals (pipeline_id, status, stage_id, currency, amount, owner_id, team_id);
