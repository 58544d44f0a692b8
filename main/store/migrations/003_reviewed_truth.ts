import type { Migration } from '../migrate.js';

const now = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** An annotation as app/model's Annotation serialises it, for history rows written in SQL. */
const annotationJson = (a: string, state: string) => `json_patch(json_object(
    'id', ${a}.id, 'imageId', ${a}.image_id, 'categoryId', ${a}.category_id,
    'bbox', json_array(${a}.x, ${a}.y, ${a}.w, ${a}.h),
    'mask', json(CASE WHEN ${a}.mask_counts IS NULL THEN NULL
                 ELSE json_object('size', json_array(${a}.mask_height, ${a}.mask_width), 'counts', ${a}.mask_counts) END),
    'score', ${a}.score, 'origin', ${a}.origin, 'modelId', ${a}.model_id, 'state', ${state}),
  CASE WHEN ${a}.crowd = 1 THEN '{"crowd":true}' ELSE '{}' END)`;

/** A prediction no person has decided on, or an annotation made for an earlier version of its file. */
const unsettled = (a: string) => `((${a}.state = 'pending' AND ${a}.origin != 'human') OR ${a}.stale_width IS NOT NULL)`;

/**
 * Reviewed truth: what makes a reviewed image's annotations a dataset you can trust.
 *
 * - annotations.stale_width/height: the displayed size an annotation was made for, set when its image's file changed.
 * - coco_id on images, categories and annotations (unique where set) and coco_extra (the COCO fields Loupe does not
 *   use, such as license or supercategory), so an imported dataset exports with its own ids; project_meta keeps the
 *   COCO file's info and licenses.
 * - run_lock: at most one pre-label run per project, with its owner (pid, host) and progress for other processes.
 * - annotation_history.actor may be 'system' (a rescan marking annotations stale or dropping predictions of a
 *   changed file); the table is rebuilt because SQLite cannot alter a CHECK.
 * - Triggers: a reviewed image never holds a pending prediction or a stale annotation. Projects written before
 *   this rule may hold them (a re-run after review added predictions): those pending predictions are rejected (a
 *   person's edits among them accepted), each with a history entry by 'system'.
 */
export const migration003: Migration = {
  version: 3,
  name: 'reviewed-truth',
  sql: `
    ALTER TABLE annotations ADD COLUMN stale_width INTEGER CHECK (stale_width > 0);
    ALTER TABLE annotations ADD COLUMN stale_height INTEGER
      CHECK (stale_height > 0 AND (stale_height IS NULL) = (stale_width IS NULL));
    ALTER TABLE annotations ADD COLUMN coco_id INTEGER CHECK (coco_id >= 0);
    CREATE UNIQUE INDEX annotations_coco_id ON annotations (coco_id) WHERE coco_id IS NOT NULL;

    ALTER TABLE images ADD COLUMN coco_id INTEGER CHECK (coco_id >= 0);
    ALTER TABLE images ADD COLUMN coco_extra TEXT CHECK (coco_extra IS NULL OR json_valid(coco_extra));
    CREATE UNIQUE INDEX images_coco_id ON images (coco_id) WHERE coco_id IS NOT NULL;

    ALTER TABLE categories ADD COLUMN coco_id INTEGER CHECK (coco_id >= 0);
    ALTER TABLE categories ADD COLUMN coco_extra TEXT CHECK (coco_extra IS NULL OR json_valid(coco_extra));
    CREATE UNIQUE INDEX categories_coco_id ON categories (coco_id) WHERE coco_id IS NOT NULL;

    CREATE TABLE project_meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL CHECK (json_valid(value))
    );

    CREATE TABLE run_lock (
      id           INTEGER PRIMARY KEY CHECK (id = 1),
      token        TEXT    NOT NULL,
      pid          INTEGER NOT NULL,
      host         TEXT    NOT NULL,
      started_at   TEXT    NOT NULL DEFAULT ${now},
      heartbeat_at TEXT    NOT NULL DEFAULT ${now},
      run_id       INTEGER REFERENCES prelabel_runs (id),
      model_id     INTEGER REFERENCES models (id),
      state        TEXT    NOT NULL DEFAULT 'starting' CHECK (state IN ('starting', 'running', 'paused')),
      total        INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
      done         INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
      failed       INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0)
    );

    CREATE TABLE annotation_history_new (
      id            INTEGER PRIMARY KEY,
      annotation_id TEXT    NOT NULL,
      image_id      INTEGER NOT NULL REFERENCES images (id),
      action        TEXT    NOT NULL
                    CHECK (action IN ('created', 'updated', 'deleted', 'accepted', 'rejected')),
      before        TEXT    CHECK (before IS NULL OR json_valid(before)),
      after         TEXT    CHECK (after IS NULL OR json_valid(after)),
      actor         TEXT    NOT NULL CHECK (actor IN ('human', 'model', 'system')),
      at            TEXT    NOT NULL DEFAULT ${now}
    );
    INSERT INTO annotation_history_new (id, annotation_id, image_id, action, before, after, actor, at)
      SELECT id, annotation_id, image_id, action, before, after, actor, at FROM annotation_history;
    DROP TABLE annotation_history;
    ALTER TABLE annotation_history_new RENAME TO annotation_history;
    CREATE INDEX annotation_history_annotation ON annotation_history (annotation_id, id);
    CREATE INDEX annotation_history_image ON annotation_history (image_id, id);

    CREATE TEMP TABLE settled AS
      SELECT a.id, CASE WHEN a.origin = 'model' THEN 'rejected' ELSE 'accepted' END AS decision
        FROM annotations a JOIN images i ON i.id = a.image_id
       WHERE i.status = 'reviewed' AND a.state = 'pending' AND a.origin != 'human';
    INSERT INTO annotation_history (annotation_id, image_id, action, before, after, actor)
      SELECT a.id, a.image_id, s.decision, ${annotationJson('a', 'a.state')}, ${annotationJson('a', 's.decision')}, 'system'
        FROM annotations a JOIN settled s ON s.id = a.id ORDER BY a.rowid;
    UPDATE annotations SET state = (SELECT decision FROM settled WHERE settled.id = annotations.id), updated_at = ${now}
      WHERE id IN (SELECT id FROM settled);
    DROP TABLE settled;

    CREATE TRIGGER annotations_reviewed_insert BEFORE INSERT ON annotations
      WHEN ${unsettled('NEW')} AND (SELECT status FROM images WHERE id = NEW.image_id) = 'reviewed'
      BEGIN SELECT RAISE(ABORT, 'a reviewed image cannot hold a pending prediction or a stale annotation'); END;
    CREATE TRIGGER annotations_reviewed_update BEFORE UPDATE OF state, origin, image_id, stale_width ON annotations
      WHEN ${unsettled('NEW')} AND (SELECT status FROM images WHERE id = NEW.image_id) = 'reviewed'
      BEGIN SELECT RAISE(ABORT, 'a reviewed image cannot hold a pending prediction or a stale annotation'); END;
    CREATE TRIGGER images_reviewed_settled BEFORE UPDATE OF status ON images
      WHEN NEW.status = 'reviewed' AND EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = NEW.id AND ${unsettled('a')})
      BEGIN SELECT RAISE(ABORT, 'a reviewed image cannot hold a pending prediction or a stale annotation'); END;
  `,
};
