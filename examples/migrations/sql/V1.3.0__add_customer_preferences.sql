-- Migration V1.3.0__add_customer_preferences.sql
-- Safe for Blue-Green: Blue ignores new column, Green uses it

ALTER TABLE customers 
ADD COLUMN preferences JSONB DEFAULT '{}';

-- Index for Green environment queries
CREATE INDEX idx_customers_preferences 
ON customers USING gin(preferences);

-- Blue (v1.2.0) continues working (ignores new column)
-- Green (v1.3.0) can use new column
