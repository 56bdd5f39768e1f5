-- The business calendar (L-4): the day weeks start on, working hours per weekday and
-- holidays that recur on the same Jalali day every year. Settings saved before this
-- change get the defaults: weeks from Saturday, Saturday to Wednesday 08:00-16:00,
-- Thursday 08:00-12:00, and the fixed holidays of the Iranian solar calendar.
ALTER TABLE business_settings ADD COLUMN first_day_of_week TEXT NOT NULL DEFAULT 'saturday';
ALTER TABLE business_settings ADD COLUMN working_hours TEXT NOT NULL
    DEFAULT '{"saturday":[{"start":"08:00","end":"16:00"}],"sunday":[{"start":"08:00","end":"16:00"}],"monday":[{"start":"08:00","end":"16:00"}],"tuesday":[{"start":"08:00","end":"16:00"}],"wednesday":[{"start":"08:00","end":"16:00"}],"thursday":[{"start":"08:00","end":"12:00"}],"friday":[]}';
ALTER TABLE business_settings ADD COLUMN recurring_holidays TEXT NOT NULL
    DEFAULT '[{"month":1,"day":1,"name":"نوروز"},{"month":1,"day":2,"name":"نوروز"},{"month":1,"day":3,"name":"نوروز"},{"month":1,"day":4,"name":"نوروز"},{"month":1,"day":12,"name":"روز جمهوری اسلامی"},{"month":1,"day":13,"name":"روز طبیعت"},{"month":3,"day":14,"name":"رحلت امام خمینی"},{"month":3,"day":15,"name":"قیام ۱۵ خرداد"},{"month":11,"day":22,"name":"پیروزی انقلاب اسلامی"},{"month":12,"day":29,"name":"ملی شدن صنعت نفت"}]';
