DROP INDEX customers_acquisition_channel_idx;
DROP INDEX customers_acquisition_campaign_idx;
DROP INDEX orders_campaign_idx;
DROP TABLE campaign_links;
DROP TABLE campaign_recipients;
DROP TABLE campaign_costs;
DROP TABLE campaigns;
