-- The board's totals kept as the deals change: per pipeline, stage, currency, owner and
-- team, the number of open deals and their amount (as the sums of its high and low 32
-- bits, so that no sum leaves 64 bits). A board then reads a handful of cells instead of
-- every open deal of the pipeline. The triggers below keep the cells right whatever
-- writes a deal (the application, a bulk load, a team's deletion setting `team_id` to
-- NULL). Owner and team are keys, so "none" is the nil uuid rather than NULL.
DROP INDEX deals_board_idx;

CREATE TABLE deal_board_totals (
    pipeline_id uuid NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    stage_id uuid NOT NULL REFERENCES pipeline_stages (id) ON DELETE CASCADE,
    currency text NOT NULL,
    owner_key uuid NOT NULL,
    team_key uuid NOT NULL,
    deals bigint NOT NULL,
    amount_high bigint NOT NULL,
    amount_low bigint NOT NULL,
    PRIMARY KEY (pipeline_id, stage_id, currency, owner_key, team_key)
);
-- Callers who see their own deals, or their team's.
CREATE INDEX deal_board_totals_owner_idx ON deal_board_totals (owner_key, pipeline_id);
CREATE INDEX deal_board_totals_team_idx ON deal_board_totals (team_key, pipeline_id);

INSERT INTO deal_board_totals
SELECT pipeline_id, stage_id, currency,
       COALESCE(owner_id, '00000000-0000-0000-0000-000000000000'),
       COALESCE(team_id, '00000000-0000-0000-0000-000000000000'),
       COUNT(*), SUM(amount / 4294967296), SUM(amount % 4294967296)
FROM deals WHERE status = 'open'
GROUP BY pipeline_id, stage_id, currency, owner_id, team_id;

CREATE FUNCTION deal_board_totals_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'open' THEN
        UPDATE deal_board_totals
        SET deals = deals - 1,
            amount_high = amount_high - OLD.amount / 4294967296,
            amount_low = amount_low - OLD.amount % 4294967296
        WHERE pipeline_id = OLD.pipeline_id AND stage_id = OLD.stage_id
          AND currency = OLD.currency
          AND owner_key = COALESCE(OLD.owner_id, '00000000-0000-0000-0000-000000000000')
          AND team_key = COALESCE(OLD.team_id, '00000000-0000-0000-0000-000000000000');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'open' THEN
        INSERT INTO deal_board_totals AS t
        VALUES (NEW.pipeline_id, NEW.stage_id, NEW.currency,
                COALESCE(NEW.owner_id, '00000000-0000-0000-0000-000000000000'),
                COALESCE(NEW.team_id, '00000000-0000-0000-0000-000000000000'),
                1, NEW.amount / 4294967296, NEW.amount % 4294967296)
        ON CONFLICT (pipeline_id, stage_id, currency, owner_key, team_key) DO UPDATE
        SET deals = t.deals + 1,
            amount_high = t.amount_high + EXCLUDED.amount_high,
            amount_low = t.amount_low + EXCLUDED.amount_low;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER deal_board_totals_insert AFTER INSERT ON deals
FOR EACH ROW WHEN (NEW.status = 'open') EXECUTE FUNCTION deal_board_totals_follow();
-- Only a change of what a cell is keyed by or sums moves a deal between cells.
CREATE TRIGGER deal_board_totals_update AFTER UPDATE ON deals
FOR EACH ROW WHEN (
    (OLD.status = 'open' OR NEW.status = 'open')
    AND (OLD.status IS DISTINCT FROM NEW.status
         OR OLD.pipeline_id IS DISTINCT FROM NEW.pipeline_id
         OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
         OR OLD.currency IS DISTINCT FROM NEW.currency
         OR OLD.amount IS DISTINCT FROM NEW.amount
         OR OLD.owner_id IS DISTINCT FROM NEW.owner_id
         OR OLD.team_id IS DISTINCT FROM NEW.team_id)
) EXECUTE FUNCTION deal_board_totals_follow();
CREATE TRIGGER deal_board_totals_delete AFTER DELETE ON deals
FOR EACH ROW WHEN (OLD.status = 'open') EXECUTE FUNCTION deal_board_totals_follow();
