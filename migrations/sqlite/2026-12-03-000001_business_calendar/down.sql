ALTER TABLE business_settings DROP COLUMN recurring_holidays;
ALTER TABLE business_settings DROP COLUMN working_hours;
ALTER TABLE business_settings DROP COLUMN first_day_of_week;
