/**
 * The project store: one SQLite file per image folder (`<folder>/.loupe/project.db`), WAL, foreign keys on,
 * numbered migrations in PRAGMA user_version (a newer database is refused with SchemaTooNewError).
 *
 *   const store = openProject(folder, { dbPath?, readonly? });   // ... store.close()
 *
 *   store.images      get(id) getByPath(path) list({status?, categoryId?, search?, stale?, after?, limit}) -> {items, next}
 *                     countByStatus() count() setStatus(ids, status, error?) setMissing(ids, missing)
 *                     scanIndex() writeFiles([{id?, file}])            (the last two are for the folder scan)
 *   store.categories  list() get(id) getByName(name) create(name, color?) ensure(names) update(id, {name?, color?})
 *   store.models      register({name, format, labels, card, path, sha256}) get(id) getBySha256(h) list()
 *   store.annotations forImage(imageId) get(id)
 *                     apply(imageId, diff: Diff<Annotation>, actor = 'human', {status?}) -> the diff as stored
 *                     (each `before` checked against the store: ConflictError when it changed elsewhere)
 *                     replaceModelPredictions(imageId, modelId, predictions) -> {annotations, replaced}
 *                     forgetChangedContent(imageId, madeFor) pendingPredictions(imageId)
 *   store.review      markReviewed(imageId, view | null) review(imageId, rules, {markReviewed, view})
 *                     (app/review's rules applied with history and the image status in one transaction)
 *   store.prelabel    start(modelId, params) finish(runId, status, error?) get(runId) list()
 *                     recordOutcomes(runId, modelId, [{imageId, durationMs, predictions} | {imageId, durationMs, error}])
 *                     pendingImageIds(modelId, imageIds?) resultsForRun(runId) lastModel()
 *   store.history     forAnnotation(id) forImage(imageId)     (written by annotations; never edited)
 *   store.stats       summary() failedImages() unreadableImages() staleImages() instancesByClass()
 *   store.meta        get(key) set(key, value)                 (project-wide JSON values: COCO info, licenses)
 *   store.runLock     acquire() -> {update, heartbeat, release} current()   (one pre-label run per project)
 *   store.transaction(fn)                                     (one transaction around several calls)
 *   selectTruth(store, {scope?, includePending?}, changed?)   (what every export writes: the reviewed truth, image by image)
 *
 * Every method that writes several rows does it in one transaction. Triggers (migration 003) keep the rule that a
 * reviewed image holds no pending prediction and no stale annotation.
 */
export { openProject, defaultDbPath, PROJECT_DIR, PROJECT_DB } from './project.js';
export type { ProjectStore, OpenProjectOptions } from './project.js';
export { SchemaTooNewError, migrate, schemaVersion, latestVersion } from './migrate.js';
export type { Migration } from './migrate.js';
export { migrations } from './migrations/index.js';
export { MAX_PAGE_SIZE } from './images.js';
export type { ImageFile, ImageFileWrite, ImagePage, ImageQuery, ScanIndexEntry, StatusCounts } from './images.js';
export { CATEGORY_PALETTE } from './categories.js';
export type { NewModel, StoredModel } from './models.js';
export { validateAnnotation } from './annotations.js';
export { checkMaskFits, CHANGED_ELSEWHERE, sameAnnotation } from './annotations.js';
export type { ApplyOptions, Prediction, PredictionsWritten } from './annotations.js';
export type { ReviewOutcome } from './review.js';
export { HISTORY_ACTIONS } from './history.js';
export type { ChangeActor, HistoryAction, HistoryEntry } from './history.js';
export { RUN_STATUSES } from './runs.js';
export { HEARTBEAT_MS, processAlive, RunLockedError } from './run-lock.js';
export type { RunLock, RunLockInfo, RunLockState } from './run-lock.js';
export type { ImageOutcome, PrelabelResult, PrelabelRun, RecordedOutcomes, RunStatus } from './runs.js';
export type { ClassCount, FailedImage, ProjectStats, StaleImage } from './stats.js';
export { projectToCoco, importCoco, COCO_INFO_KEY, COCO_LICENSES_KEY } from './coco.js';
export type { CocoExportOptions, CocoExportReport, CocoImportReport } from './coco.js';
export { selectTruth } from './truth.js';
export type { LeftOut, TruthItem, TruthOptions, TruthSelection } from './truth.js';
