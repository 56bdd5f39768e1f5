DROP TABLE notifications;
DROP TABLE activities;
DROP TABLE tasks;
