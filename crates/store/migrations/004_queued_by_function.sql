-- Counting a project's and a function's queued executions (the queue caps) reads only this
-- index: it holds the waiting and scheduled rows, never finished ones.
CREATE INDEX executions_queued_by_function ON executions (project_id, function_id)
    WHERE status IN ('waiting', 'scheduled');
