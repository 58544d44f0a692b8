// Window size and position remembered between runs (a small JSON in userData), and put back only
// where a screen still shows it: a monitor unplugged since last time must not hide the window.
import { z } from 'zod';
import { readJsonFile, writeJsonFileAtomic } from './json-file.js';

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface WindowState {
  readonly bounds: Rect;
  readonly maximized: boolean;
}

/** What BrowserWindow gets: no x/y means "let the system centre it". */
export interface Placement {
  readonly x?: number;
  readonly y?: number;
  readonly width: number;
  readonly height: number;
  readonly maximized: boolean;
}

export const DEFAULT_SIZE = { width: 1280, height: 820 } as const;
export const MIN_SIZE = { width: 720, height: 480 } as const;
/** How much of the window (its top-left corner region, where the title bar is) a screen must show. */
const VISIBLE_GRIP = 64;

const int = z.number().int();
const WindowStateSchema = z.object({
  version: z.literal(1),
  bounds: z.object({ x: int, y: int, width: int.positive(), height: int.positive() }),
  maximized: z.boolean(),
});

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x),
    height: Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y),
  };
}

/**
 * Where to open the window, given what was saved and the screens' work areas now (primary first).
 * Saved bounds are kept when a screen shows their title bar; otherwise the size is kept (shrunk to
 * the primary screen) and the system centres the window.
 */
export function placeWindow(saved: WindowState | null, workAreas: readonly Rect[]): Placement {
  const primary = workAreas[0];
  if (saved === null) {
    return primary
      ? { width: Math.min(DEFAULT_SIZE.width, primary.width), height: Math.min(DEFAULT_SIZE.height, primary.height), maximized: false }
      : { ...DEFAULT_SIZE, maximized: false };
  }
  const width = Math.max(MIN_SIZE.width, saved.bounds.width);
  const height = Math.max(MIN_SIZE.height, saved.bounds.height);
  const titleBar: Rect = { x: saved.bounds.x, y: saved.bounds.y, width: Math.min(width, VISIBLE_GRIP * 4), height: VISIBLE_GRIP };
  const visible = workAreas.some((area) => {
    const shown = overlap(titleBar, area);
    return shown.width >= VISIBLE_GRIP && shown.height >= VISIBLE_GRIP / 2;
  });
  if (visible) return { x: saved.bounds.x, y: saved.bounds.y, width, height, maximized: saved.maximized };
  return {
    width: primary ? Math.min(width, primary.width) : width,
    height: primary ? Math.min(height, primary.height) : height,
    maximized: saved.maximized,
  };
}

export async function loadWindowState(file: string, onProblem?: (message: string) => void): Promise<WindowState | null> {
  const read = await readJsonFile(file, WindowStateSchema, onProblem ?? (() => {}));
  return read ? { bounds: read.bounds, maximized: read.maximized } : null;
}

export async function saveWindowState(file: string, state: WindowState): Promise<void> {
  const bounds = {
    x: Math.round(state.bounds.x),
    y: Math.round(state.bounds.y),
    width: Math.round(state.bounds.width),
    height: Math.round(state.bounds.height),
  };
  await writeJsonFileAtomic(file, { version: 1, bounds, maximized: state.maximized });
}
