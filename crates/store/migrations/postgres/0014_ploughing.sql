-- Spring ploughing (春耕备耕): each village's plan and progress per crop and
-- year. One row per (village, crop, year), replaced as the figures come in;
-- every change is also an event (`ploughing.updated`), which keeps the
-- history. `scope` is the village's path, so a township reads its villages
-- by range. Areas are whole mu (亩), inputs whole kg.

CREATE TABLE ploughing (
    village_id          BIGINT  NOT NULL REFERENCES org_units(id),
    crop                TEXT    NOT NULL,
    year                BIGINT  NOT NULL,
    scope               TEXT    NOT NULL,
    planned_mu          BIGINT  NOT NULL,
    sown_mu             BIGINT  NOT NULL,
    seed_need_kg        BIGINT  NOT NULL,
    seed_got_kg         BIGINT  NOT NULL,
    fertiliser_need_kg  BIGINT  NOT NULL,
    fertiliser_got_kg   BIGINT  NOT NULL,
    film_need_kg        BIGINT  NOT NULL,
    film_got_kg         BIGINT  NOT NULL,
    machines            BIGINT  NOT NULL,
    note                TEXT    NOT NULL DEFAULT '',
    updated_by          BIGINT  REFERENCES users(id),
    updated_us          BIGINT  NOT NULL,
    PRIMARY KEY (village_id, crop, year)
);
CREATE INDEX ploughing_year_scope ON ploughing(year, scope);
