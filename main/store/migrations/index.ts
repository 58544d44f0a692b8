import type { Migration } from '../migrate.js';
import { migration001 } from './001_initial.js';
import { migration002 } from './002_crowd.js';
import { migration003 } from './003_reviewed_truth.js';
import { migration006 } from './006_learning.js';

/**
 * Numbers 4 and 5 are held for migrations written on other branches at the same time as 006 (the learning loop);
 * merging them replaces these empty steps (or 006 is renumbered to follow what is there).
 */
const reserved = (version: number): Migration => ({ version, name: `reserved-${version}`, sql: '' });

/** Every migration, in order; a new one is a new file appended here. */
export const migrations: readonly Migration[] = [migration001, migration002, migration003, reserved(4), reserved(5), migration006];
