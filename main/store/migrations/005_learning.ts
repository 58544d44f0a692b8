import type { Migration } from '../migrate.js';

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * The learning loop (issue 14): training runs, the model versions they made, which model a person (or a training
 * run) made active, evaluations of models on the reviewed images, and the comparison set of a model against them.
 *
 * - train_runs: one `loupe train` (or the app's "Train new version"): its settings (the same settings continue an
 *   unfinished run), its folder under .loupe/train, the stage it reached, and its owner (pid, host, heartbeat) so
 *   that one run at a time holds a project; a run whose owner died is taken over by the same command.
 * - model_versions: NAME-vK, the model it was fine-tuned from and the run that made it.
 * - model_activations: each time a model was made the project's active one, with why. The active model is the later
 *   of the last activation and the last pre-label run's model.
 * - model_evaluations: COCO figures (box and mask) of a model on a set of reviewed images, with that set's
 *   fingerprint so figures on the same images can be compared.
 * - comparison_predictions: a model's predictions on reviewed images, kept apart from the annotations (never review
 *   truth), and comparison_images: per image, the instances the model missed, the predictions with no match and
 *   the matches with low overlap.
 */
export const migration005: Migration = {
  version: 5,
  name: 'learning',
  sql: `
    CREATE TABLE train_runs (
      id            INTEGER PRIMARY KEY,
      name          TEXT    NOT NULL CHECK (length(name) > 0),
      family        TEXT    NOT NULL CHECK (length(family) > 0),
      version       INTEGER NOT NULL CHECK (version >= 2),
      dir           TEXT    NOT NULL,
      params        TEXT    NOT NULL CHECK (json_valid(params)),
      from_model_id INTEGER REFERENCES models (id),
      status        TEXT    NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'interrupted', 'failed', 'completed')),
      stage         TEXT    NOT NULL DEFAULT 'data' CHECK (stage IN ('data', 'train', 'export', 'score', 'done')),
      error         TEXT,
      progress      TEXT    CHECK (progress IS NULL OR json_valid(progress)),
      result        TEXT    CHECK (result IS NULL OR json_valid(result)),
      model_id      INTEGER REFERENCES models (id),
      pid           INTEGER,
      host          TEXT,
      child_pid     INTEGER,
      heartbeat_at  TEXT,
      started_at    TEXT    NOT NULL DEFAULT ${now},
      finished_at   TEXT
    );
    CREATE INDEX train_runs_status ON train_runs (status, id);

    CREATE TABLE model_versions (
      model_id        INTEGER PRIMARY KEY REFERENCES models (id),
      family          TEXT    NOT NULL CHECK (length(family) > 0),
      version         INTEGER NOT NULL CHECK (version >= 1),
      parent_model_id INTEGER REFERENCES models (id),
      train_run_id    INTEGER REFERENCES train_runs (id),
      card_path       TEXT    NOT NULL,
      created_at      TEXT    NOT NULL DEFAULT ${now},
      UNIQUE (family, version)
    );

    CREATE TABLE model_activations (
      id        INTEGER PRIMARY KEY,
      model_id  INTEGER NOT NULL REFERENCES models (id),
      card_path TEXT    NOT NULL,
      reason    TEXT    NOT NULL,
      at        TEXT    NOT NULL DEFAULT ${now}
    );

    CREATE TABLE model_evaluations (
      id            INTEGER PRIMARY KEY,
      model_id      INTEGER NOT NULL REFERENCES models (id),
      split         TEXT    NOT NULL CHECK (split IN ('heldout', 'all')),
      image_set     TEXT    NOT NULL,
      images        INTEGER NOT NULL CHECK (images >= 0),
      instances     INTEGER NOT NULL CHECK (instances >= 0),
      threshold     REAL    NOT NULL CHECK (threshold BETWEEN 0 AND 1),
      metrics       TEXT    NOT NULL CHECK (json_valid(metrics)),
      created_at    TEXT    NOT NULL DEFAULT ${now}
    );
    CREATE INDEX model_evaluations_model ON model_evaluations (model_id, id);

    CREATE TABLE comparison_predictions (
      id          INTEGER PRIMARY KEY,
      model_id    INTEGER NOT NULL REFERENCES models (id),
      image_id    INTEGER NOT NULL REFERENCES images (id),
      category_id INTEGER NOT NULL REFERENCES categories (id),
      x           REAL    NOT NULL,
      y           REAL    NOT NULL,
      w           REAL    NOT NULL CHECK (w >= 0),
      h           REAL    NOT NULL CHECK (h >= 0),
      mask_counts TEXT,
      mask_height INTEGER CHECK (mask_height > 0),
      mask_width  INTEGER CHECK (mask_width > 0),
      score       REAL    NOT NULL CHECK (score BETWEEN 0 AND 1),
      CHECK ((mask_counts IS NULL) = (mask_height IS NULL) AND (mask_counts IS NULL) = (mask_width IS NULL))
    );
    CREATE INDEX comparison_predictions_image ON comparison_predictions (image_id, model_id);

    CREATE TABLE comparison_images (
      image_id    INTEGER NOT NULL REFERENCES images (id),
      model_id    INTEGER NOT NULL REFERENCES models (id),
      matched     INTEGER NOT NULL CHECK (matched >= 0),
      missed      INTEGER NOT NULL CHECK (missed >= 0),
      extra       INTEGER NOT NULL CHECK (extra >= 0),
      low_overlap INTEGER NOT NULL CHECK (low_overlap >= 0),
      compared_at TEXT    NOT NULL DEFAULT ${now},
      PRIMARY KEY (image_id, model_id)
    );
    CREATE INDEX comparison_images_disagreements ON comparison_images (model_id, image_id)
      WHERE missed + extra + low_overlap > 0;
  `,
};
