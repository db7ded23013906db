-- The check value of the secret key the database was first used with (an HMAC of a constant, never the key): a
-- process started with another secret_key refuses to run instead of breaking stored secrets, buttons and links.
CREATE TABLE key_check (
    id INTEGER PRIMARY KEY,
    check_value TEXT NOT NULL
);
