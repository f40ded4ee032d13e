-- wafer: secret variables are sealed under a master key kept outside the database. This one row
-- holds a known text sealed under that key, so a start with the wrong key is refused before any
-- secret is read (or written under a second key).
CREATE TABLE master_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL
);
