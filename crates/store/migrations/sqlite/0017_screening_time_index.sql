-- The screening list (a post's page, the commanders' search) shows the
-- newest first. For a whole county its scopes are many, so the index on
-- (scope, occurred_us) could not give that order: every screening of the
-- county was read and sorted to show the first page. An index on the time
-- alone is walked newest first, the scope checked on the way; a post's list
-- and a plate's search keep their own indexes.
DROP INDEX screenings_scope_time;
CREATE INDEX screenings_time ON screenings(occurred_us);
