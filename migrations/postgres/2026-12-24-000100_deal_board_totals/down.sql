DROP TRIGGER deal_board_totals_delete ON deals;
DROP TRIGGER deal_board_totals_update ON deals;
DROP TRIGGER deal_board_totals_insert ON deals;
DROP FUNCTION deal_board_totals_follow();
DROP TABLE deal_board_totals;
CREATE INDEX deals_board_idx ON deals (pipeline_id, status, stage_id, currency, amount, owner_id, team_id);
