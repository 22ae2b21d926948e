-- Spring ploughing (春耕备耕): each village's plan and progress per crop and
-- year. One row per (village, crop, year), replaced as the figures come in;
-- every change is also an event (`ploughing.updated`), which keeps the
-- history. `scope` is the village's path, so a township reads its villages
-- by range. Areas are whole mu (亩), inputs whole kg.

CREATE TABLE ploughing (
    village_id          INTEGER NOT NULL REFERENCES org_units(id),
    crop                TEXT    NOT NULL,
    year                INTEGER NOT NULL,
    scope               TEXT    NOT NULL,
    planned_mu          INTEGER NOT NULL,
    sown_mu             INTEGER NOT NULL,
    seed_need_kg        INTEGER NOT NULL,
    seed_got_kg         INTEGER NOT NULL,
    fertiliser_need_kg  INTEGER NOT NULL,
    fertiliser_got_kg   INTEGER NOT NULL,
    film_need_kg        INTEGER NOT NULL,
    film_got_kg         INTEGER NOT NULL,
    machines            INTEGER NOT NULL,
    note                TEXT    NOT NULL DEFAULT '',
    updated_by          INTEGER REFERENCES users(id),
    updated_us          INTEGER NOT NULL,
    PRIMARY KEY (village_id, crop, year)
);
CREATE INDEX ploughing_year_scope ON ploughing(year, scope);
