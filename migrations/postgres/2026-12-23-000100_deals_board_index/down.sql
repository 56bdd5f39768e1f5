DROP INDEX deals_board_idx;
