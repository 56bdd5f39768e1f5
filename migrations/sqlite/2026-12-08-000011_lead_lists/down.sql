DROP TABLE lead_list_members;
DROP TABLE lead_lists;
