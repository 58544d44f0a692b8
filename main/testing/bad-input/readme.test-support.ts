// `npm run docs:refusals`: writes README.md's "What Loupe refuses" table from the corpus (bad-input.test.ts fails
// while the two differ).
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { REFUSALS, withRefusalsTable } from './corpus.test-support.js';

const readme = fileURLToPath(new URL('../../../README.md', import.meta.url));
await writeFile(readme, withRefusalsTable(await readFile(readme, 'utf8')));
process.stdout.write(`README.md: "What Loupe refuses" written, ${REFUSALS.length} cases\n`);
