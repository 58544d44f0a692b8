import type { Database, Statement } from 'better-sqlite3';
import { CategoryId, type Category } from '../../app/model/index.js';

/** Colours handed to new categories in turn: distinct hues that read on both light and dark images. */
export const CATEGORY_PALETTE = [
  '#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6',
  '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324', '#fffac8', '#800000', '#aaffc3',
] as const;

interface CategoryRow {
  id: number;
  name: string;
  color: string;
}

const toCategory = (row: CategoryRow): Category => ({ id: CategoryId(row.id), name: row.name, color: row.color });

export class CategoryRepository {
  private readonly byName: Statement<[string], CategoryRow>;
  private readonly insert: Statement<[string, string]>;

  constructor(private readonly db: Database) {
    this.byName = db.prepare(`SELECT id, name, color FROM categories WHERE name = ?`);
    this.insert = db.prepare(`INSERT INTO categories (name, color) VALUES (?, ?)`);
  }

  list(): Category[] {
    return (this.db.prepare(`SELECT id, name, color FROM categories ORDER BY id`).all() as CategoryRow[]).map(toCategory);
  }

  get(id: CategoryId): Category | undefined {
    const row = this.db.prepare(`SELECT id, name, color FROM categories WHERE id = ?`).get(id) as CategoryRow | undefined;
    return row && toCategory(row);
  }

  getByName(name: string): Category | undefined {
    const row = this.byName.get(name);
    return row && toCategory(row);
  }

  /** Creates a category; without a colour it takes the next one from the palette. */
  create(name: string, color?: string): Category {
    const trimmed = name.trim();
    if (trimmed === '') throw new Error('a category needs a name');
    const chosen = (color ?? this.nextColor()).toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(chosen)) throw new Error(`category colour must be '#rrggbb', got '${color}'`);
    const id = Number(this.insert.run(trimmed, chosen).lastInsertRowid);
    return { id: CategoryId(id), name: trimmed, color: chosen };
  }

  /** The categories with these names, creating the missing ones, in one transaction; same order as `names`. */
  ensure(names: readonly string[]): Category[] {
    return this.db.transaction(() => names.map((name) => this.getByName(name.trim()) ?? this.create(name)))();
  }

  update(id: CategoryId, changes: { name?: string; color?: string }): Category {
    const current = this.get(id);
    if (!current) throw new Error(`category ${id} does not exist`);
    const name = changes.name?.trim() ?? current.name;
    const color = (changes.color ?? current.color).toLowerCase();
    this.db.prepare(`UPDATE categories SET name = ?, color = ? WHERE id = ?`).run(name, color, id);
    return { id, name, color };
  }

  private nextColor(): string {
    const { n } = this.db.prepare(`SELECT count(*) AS n FROM categories`).get() as { n: number };
    return CATEGORY_PALETTE[n % CATEGORY_PALETTE.length]!;
  }
}
