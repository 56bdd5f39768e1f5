DROP TRIGGER deal_board_totals_delete;
DROP TRIGGER deal_board_totals_update;
DROP TRIGGER deal_board_totals_insert;
DROP TABLE deal_board_totals;
CREATE INDEX deals_board_idx ON deals (pipeline_id, status, stage_id, currency, amount, owner_id, team_id);
