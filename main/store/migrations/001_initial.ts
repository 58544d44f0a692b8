import type { Migration } from '../migrate.js';

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** The first schema: images, categories, models, annotations with provenance, pre-label runs and the edit history. */
export const migration001: Migration = {
  version: 1,
  name: 'initial',
  sql: `
    CREATE TABLE images (
      id          INTEGER PRIMARY KEY,
      path        TEXT    NOT NULL UNIQUE,
      width       INTEGER NOT NULL CHECK (width >= 0),
      height      INTEGER NOT NULL CHECK (height >= 0),
      orientation INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),
      hash        TEXT    NOT NULL,
      size        INTEGER NOT NULL CHECK (size >= 0),
      mtime_ms    INTEGER NOT NULL,
      status      TEXT    NOT NULL DEFAULT 'new'
                  CHECK (status IN ('new', 'predicted', 'in-review', 'reviewed', 'error')),
      error       TEXT,
      missing     INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
      created_at  TEXT    NOT NULL DEFAULT ${now},
      updated_at  TEXT    NOT NULL DEFAULT ${now}
    );
    CREATE INDEX images_status_path ON images (status, path);
    CREATE INDEX images_hash ON images (hash);

    CREATE TABLE categories (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
      color      TEXT NOT NULL CHECK (color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
      created_at TEXT NOT NULL DEFAULT ${now}
    );

    CREATE TABLE models (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      format     TEXT NOT NULL,
      labels     TEXT NOT NULL CHECK (json_valid(labels) AND json_type(labels) = 'array'),
      card       TEXT NOT NULL CHECK (json_valid(card) AND json_type(card) = 'object'),
      path       TEXT NOT NULL,
      sha256     TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL DEFAULT ${now}
    );

    CREATE TABLE annotations (
      id          TEXT    PRIMARY KEY,
      image_id    INTEGER NOT NULL REFERENCES images (id),
      category_id INTEGER NOT NULL REFERENCES categories (id),
      x           REAL    NOT NULL,
      y           REAL    NOT NULL,
      w           REAL    NOT NULL CHECK (w >= 0),
      h           REAL    NOT NULL CHECK (h >= 0),
      mask_counts TEXT,
      mask_height INTEGER CHECK (mask_height > 0),
      mask_width  INTEGER CHECK (mask_width > 0),
      score       REAL    CHECK (score BETWEEN 0 AND 1),
      origin      TEXT    NOT NULL CHECK (origin IN ('model', 'model-edited', 'human')),
      model_id    INTEGER REFERENCES models (id),
      state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'rejected')),
      created_at  TEXT    NOT NULL DEFAULT ${now},
      updated_at  TEXT    NOT NULL DEFAULT ${now},
      CHECK ((mask_counts IS NULL) = (mask_height IS NULL) AND (mask_counts IS NULL) = (mask_width IS NULL)),
      CHECK (origin = 'human' OR model_id IS NOT NULL)
    );
    CREATE INDEX annotations_image_category ON annotations (image_id, category_id);
    CREATE INDEX annotations_category_state ON annotations (category_id, state);
    CREATE INDEX annotations_model ON annotations (model_id);

    CREATE TABLE prelabel_runs (
      id          INTEGER PRIMARY KEY,
      model_id    INTEGER NOT NULL REFERENCES models (id),
      params      TEXT    NOT NULL CHECK (json_valid(params)),
      status      TEXT    NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
      error       TEXT,
      started_at  TEXT    NOT NULL DEFAULT ${now},
      finished_at TEXT
    );
    CREATE INDEX prelabel_runs_model ON prelabel_runs (model_id);

    CREATE TABLE prelabel_results (
      id          INTEGER PRIMARY KEY,
      run_id      INTEGER NOT NULL REFERENCES prelabel_runs (id),
      image_id    INTEGER NOT NULL REFERENCES images (id),
      model_id    INTEGER NOT NULL REFERENCES models (id),
      ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
      message     TEXT,
      instances   INTEGER NOT NULL DEFAULT 0 CHECK (instances >= 0),
      duration_ms REAL,
      finished_at TEXT    NOT NULL DEFAULT ${now},
      UNIQUE (model_id, image_id)
    );
    CREATE INDEX prelabel_results_run ON prelabel_results (run_id);
    CREATE INDEX prelabel_results_image ON prelabel_results (image_id);

    CREATE TABLE annotation_history (
      id            INTEGER PRIMARY KEY,
      annotation_id TEXT    NOT NULL,
      image_id      INTEGER NOT NULL REFERENCES images (id),
      action        TEXT    NOT NULL
                    CHECK (action IN ('created', 'updated', 'deleted', 'accepted', 'rejected')),
      before        TEXT    CHECK (before IS NULL OR json_valid(before)),
      after         TEXT    CHECK (after IS NULL OR json_valid(after)),
      actor         TEXT    NOT NULL CHECK (actor IN ('human', 'model')),
      at            TEXT    NOT NULL DEFAULT ${now}
    );
    CREATE INDEX annotation_history_annotation ON annotation_history (annotation_id, id);
    CREATE INDEX annotation_history_image ON annotation_history (image_id, id);
  `,
};
