-- The queue index holds only the rows the queue looks at. Finished executions (nearly all rows,
-- and every synchronous one) stay out of it, so recording an execution updates one index fewer.
-- Queries that use it must repeat this condition as an AND term, so SQLite can prove it applies.
DROP INDEX executions_queue;
CREATE INDEX executions_queue ON executions (status, scheduled_at)
    WHERE status IN ('waiting', 'scheduled', 'processing');
