-- Migration V1.3.1__preferences_not_null.sql
-- Only run after both environments on v1.3.0+
-- bluegreen:requires 1.3.0

ALTER TABLE customers 
ALTER COLUMN preferences SET NOT NULL;
