-- wafer: a function may opt in to keeping a warm instance between its calls (off by default).
ALTER TABLE functions ADD COLUMN reuse_instances INTEGER NOT NULL DEFAULT 0;
