// Every property test of a run draws from one seed: printed when a test fails, and replayed with FC_SEED=<seed>.
import fc from 'fast-check';
import { afterEach } from 'vitest';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
fc.configureGlobal({ seed });

afterEach((context) => {
  if (context.task.result?.state === 'fail') {
    console.error(`fast-check seed of this run: ${seed}; replay with FC_SEED=${seed} npx vitest run ${context.task.file.name}`);
  }
});
