import type { Database } from 'better-sqlite3';

/** The lines of SQLite's EXPLAIN QUERY PLAN for a statement, e.g. "SEARCH images USING INDEX ...". */
export function queryPlan(db: Database, sql: string, params: unknown = {}): string[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params as Record<string, unknown>) as { detail: string }[];
  return rows.map((r) => r.detail);
}

/** True when some step reads a whole table instead of an index. */
export function hasFullScan(plan: readonly string[]): boolean {
  return plan.some((line) => /^SCAN \w+$/.test(line.trim()) || /^SCAN \w+ AS \w+$/.test(line.trim()));
}
