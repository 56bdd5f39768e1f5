DROP INDEX orders_campaign_idx;
DROP TABLE campaign_links;
DROP TABLE campaign_recipients;
DROP TABLE campaign_costs;
DROP TABLE campaigns;
