import type { Migration } from '../migrate.js';
import { migration001 } from './001_initial.js';
import { migration002 } from './002_crowd.js';
import { migration003 } from './003_reviewed_truth.js';
import { migration004 } from './004_prompted.js';
import { migration005 } from './005_learning.js';

/** Every migration, in order; a new one is a new file appended here. */
export const migrations: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005];
