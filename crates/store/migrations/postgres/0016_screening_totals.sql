-- All-time screening counts per post and key (direction, cargo, outcome),
-- bumped in the same transaction as the hourly and daily rollups. The
-- all-history totals read these few rows (posts × about 30 keys) instead of
-- every day of every post: at ten million screenings, 214,000 daily rows
-- became a few hundred.

CREATE TABLE screening_totals (
    checkpoint_id  BIGINT NOT NULL,
    direction      TEXT    NOT NULL,
    cargo          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    screenings     BIGINT NOT NULL,
    people         BIGINT NOT NULL,
    PRIMARY KEY (checkpoint_id, direction, cargo, outcome)
);

INSERT INTO screening_totals (checkpoint_id, direction, cargo, outcome, screenings, people)
SELECT checkpoint_id, direction, cargo, outcome, SUM(screenings), SUM(people)
FROM screening_days
GROUP BY checkpoint_id, direction, cargo, outcome;
