-- Source contract: the three tables the pipeline reads.
CREATE TABLE IF NOT EXISTS users (
  user_id     BIGINT PRIMARY KEY,
  first_name  TEXT NOT NULL,
  last_name   TEXT NOT NULL,
  email       TEXT NOT NULL,
  age         INTEGER,
  city        TEXT,
  signup_date DATE NOT NULL
);

CREATE TABLE IF NOT EXISTS bikes (
  bike_id      BIGINT PRIMARY KEY,
  model        TEXT NOT NULL,
  bike_type    TEXT NOT NULL,
  home_station TEXT,
  in_service   BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS rentals (
  rental_id     BIGINT PRIMARY KEY,
  user_id       BIGINT NOT NULL REFERENCES users,
  bike_id       BIGINT NOT NULL REFERENCES bikes,
  rent_start    TIMESTAMPTZ NOT NULL,
  rent_end      TIMESTAMPTZ,
  start_station TEXT,
  end_station   TEXT,
  rent_cost     TEXT,
  updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS rentals_rent_start_idx ON rentals (rent_start);
