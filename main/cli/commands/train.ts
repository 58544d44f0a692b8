import path from 'node:path';
import { PythonError } from '../../learning/python.js';
import { TrainingLockedError } from '../../learning/records.js';
import { ARCHITECTURES, DEFAULT_ITERATIONS, DEFAULT_MINUTES, TrainingJob, type Architecture, type TrainProgress, type TrainSummary } from '../../learning/training.js';
import { CliError, EXIT_OK, openStore, stringValue, UsageError, type CliIo, type Command, type ParsedArgs } from '../command.js';

/** Seconds between progress lines when stderr is not a terminal. */
const LINE_EVERY_S = 10;
export const EXIT_INTERRUPTED = 130;

function positive(args: ParsedArgs, name: string, integer: boolean): number | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be a ${integer ? 'whole number' : 'number'} above 0, got '${text}'`);
  }
  return value;
}

function choice<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[]): T | undefined {
  const text = stringValue(args, name);
  if (text === undefined) return undefined;
  if (!allowed.includes(text as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'fine-tune a new model version on the reviewed images, score it on held-out ones, and activate it if better',
  usage: '<folder> [--from CARD] [--name NAME] [--minutes N] [--iterations N] [--device cpu|cuda] [--arch A [--pretrained coco]] [--min-size N] [--max-size N] [--activate] [--json] [--db FILE]',
  details: [
    '--from CARD          the model to fine-tune (its card names its checkpoint); default: the project\'s active model',
    '--name NAME          the new version is NAME-v2, -v3, ...; default: the name of the model it starts from',
    `--iterations N       training steps; --minutes N a time budget (the schedule ends when either runs out);`,
    `                     neither: ${DEFAULT_ITERATIONS} iterations or ${DEFAULT_MINUTES} minutes, whichever ends first`,
    '--device cpu|cuda    where PyTorch trains (default cpu); cuda needs a CUDA build of torch (setup-venv.sh --cuda)',
    `--arch A             a new network instead of a fine-tune: ${ARCHITECTURES.join(', ')}; --pretrained coco starts it`,
    '                     from torchvision\'s COCO weights (downloaded once)',
    '--min-size/--max-size input size to train and run at (short side, long side cap); default: the starting model\'s',
    '--activate           make the new version the active model whatever its score',
    '--json               print the summary as JSON',
    'The reviewed truth (as `loupe export` writes it) is split by image: about 1 in 5 reviewed images, chosen by file',
    'content, is held out (the same ones for every version) and both the new version and the active model are scored',
    'on them with COCOeval; the new version becomes active when its mask AP is higher. Classes without reviewed',
    'instances are left out and named. Everything goes to <folder>/.loupe/train/NAME-vK/ and the model files to',
    '<folder>/.loupe/models/. Ctrl-C stops at the next checkpoint (again: at once); after that, a crash or kill -9,',
    'the same command continues. Python: $LOUPE_PYTHON, else tools/model/.venv (bash tools/model/setup-venv.sh).',
  ],
  options: {
    from: { type: 'string' },
    name: { type: 'string' },
    minutes: { type: 'string' },
    iterations: { type: 'string' },
    device: { type: 'string' },
    arch: { type: 'string' },
    pretrained: { type: 'string' },
    'min-size': { type: 'string' },
    'max-size': { type: 'string' },
    activate: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  positionals: ['folder'],
  async run(args, io) {
    const folder = args.positionals[0]!;
    const iterations = positive(args, 'iterations', true);
    const minutes = positive(args, 'minutes', false);
    const minSize = positive(args, 'min-size', true);
    const maxSize = positive(args, 'max-size', true);
    const device = choice(args, 'device', ['cpu', 'cuda'] as const);
    const arch = choice<Architecture>(args, 'arch', ARCHITECTURES);
    const pretrained = choice(args, 'pretrained', ['coco'] as const);
    const from = stringValue(args, 'from');
    if (pretrained && !arch) throw new UsageError('--pretrained goes with --arch');
    if (arch && from) throw new UsageError('--arch starts a new network; leave out --from');
    if (minSize !== undefined && maxSize !== undefined && minSize > maxSize) throw new UsageError('--min-size must not exceed --max-size');
    const name = stringValue(args, 'name');

    const store = openStore(args, { mustExist: true });
    try {
      let job: TrainingJob;
      try {
        job = await TrainingJob.create({
          store,
          ...(from !== undefined ? { from: path.resolve(from) } : {}),
          ...(name !== undefined ? { name } : {}),
          ...(iterations !== undefined ? { iterations } : {}),
          ...(minutes !== undefined ? { minutes } : {}),
          ...(device !== undefined ? { device } : {}),
          ...(arch !== undefined ? { arch } : {}),
          ...(pretrained !== undefined ? { pretrained } : {}),
          ...(minSize !== undefined ? { minSize } : {}),
          ...(maxSize !== undefined ? { maxSize } : {}),
          ...(args.values.activate ? { activate: true } : {}),
        });
      } catch (error) {
        if (error instanceof TrainingLockedError || error instanceof PythonError) throw new CliError(folder, error.message);
        throw error;
      }
      const stopRendering = render(job, io);
      let interrupts = 0;
      const interrupt = () => {
        interrupts++;
        if (interrupts === 1) io.err(`\nstopping ${job.run.name} at the next checkpoint (Ctrl-C again to stop at once)\n`);
        if (interrupts > 2) process.exit(EXIT_INTERRUPTED);
        job.cancel();
      };
      process.on('SIGINT', interrupt);
      process.on('SIGTERM', interrupt);
      let summary: TrainSummary;
      try {
        summary = await job.execute();
      } finally {
        process.removeListener('SIGINT', interrupt);
        process.removeListener('SIGTERM', interrupt);
        stopRendering();
      }
      io.out(args.values.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary, store.folder));
      if (summary.state === 'failed') throw new CliError(folder, summary.error ?? 'training failed');
      return summary.state === 'interrupted' ? EXIT_INTERRUPTED : EXIT_OK;
    } finally {
      store.close();
    }
  },
};

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressText(p: TrainProgress): string {
  if (p.stage === 'score' && p.scored) return `scoring: ${p.scored.done}/${p.scored.total} images`;
  if (p.stage !== 'train' || p.iteration === null || p.iterations === null) return `${p.stage}${p.state === 'stopping' ? ' (stopping)' : ''}`;
  const rate = p.imagesPerSecond === null ? '? images/s' : `${p.imagesPerSecond.toFixed(1)} images/s`;
  const loss = p.loss === null ? '' : `, loss ${p.loss.toFixed(3)}`;
  const iteration = p.timeBudget ? `iteration ${p.iteration}` : `iteration ${p.iteration}/${p.iterations}`;
  return `${iteration}${loss}, ${rate}, ${duration(p.etaSeconds)} left${p.state === 'stopping' ? ' (stopping)' : ''}`;
}

function progressBar(p: TrainProgress, width = 30): string {
  // Time trained over time trained and left: right for an iteration count and a time budget alike.
  const fraction = p.stage === 'score' && p.scored ? p.scored.done / Math.max(1, p.scored.total)
    : p.elapsedSeconds !== null && p.etaSeconds !== null ? p.elapsedSeconds / Math.max(1e-9, p.elapsedSeconds + p.etaSeconds)
    : p.iteration !== null && p.iterations ? p.iteration / p.iterations : 0;
  const filled = Math.round(fraction * width);
  return `\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progressText(p)}`;
}

/** Notes as lines on stderr; progress as a bar redrawn on a terminal, else a line every few seconds. */
function render(job: TrainingJob, io: CliIo): () => void {
  let lastLine = 0;
  let barShown = false;
  const listener = job.on((event) => {
    if (event.type === 'note') {
      io.err(`${barShown ? '\r\x1b[K' : ''}${event.message}\n`);
      barShown = false;
      return;
    }
    const p = event.progress;
    if (!(p.stage === 'train' && p.iteration !== null) && !(p.stage === 'score' && p.scored)) return;
    if (io.interactive) {
      io.err(progressBar(p));
      barShown = true;
    } else if (performance.now() - lastLine >= LINE_EVERY_S * 1000) {
      lastLine = performance.now();
      io.err(`train: ${progressText(p)}\n`);
    }
  });
  return () => {
    listener.dispose();
    if (barShown) io.err('\n');
  };
}

const ap = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3));

export function summaryText(s: TrainSummary, folder: string): string {
  const lines: string[] = [];
  if (s.state === 'interrupted') {
    lines.push(`${s.name}: stopped${s.training ? '' : ' before training finished'}; run the same command to continue`);
    return `${lines.join('\n')}\n`;
  }
  if (s.state === 'failed') return `${s.name}: failed: ${s.error}\n`;
  const t = s.training!;
  const d = s.data!;
  const from = s.from ? `from ${s.from.name}` : 'as a new network';
  lines.push(
    `${s.name}: trained ${t.iteration} iterations ${from} on ${t.device} in ${duration(t.seconds)}` +
      `${t.reason === 'time-budget' ? ' (time budget reached)' : ''} on ${d.trainImages} reviewed images (${d.trainInstances} instances); ` +
      `${d.heldoutImages} held out (${d.heldoutInstances} instances)`,
  );
  lines.push(`classes: ${d.classes.join(', ')}`);
  if (d.leftOut.length > 0) lines.push(`left out (no reviewed instances to learn from): ${d.leftOut.join(', ')}`);
  if (t.newClasses.length > 0) lines.push(`new classes (started fresh): ${t.newClasses.join(', ')}`);
  if (t.missingClasses.length > 0) lines.push(`classes of ${s.from?.name ?? 'the starting model'} not in the reviewed data: ${t.missingClasses.join(', ')}`);
  if (d.leftOutImages.length > 0) lines.push(`reviewed images left out: ${d.leftOutImages.length} (${d.leftOutImages.slice(0, 3).map((l) => `${l.path}: ${l.reason}`).join('; ')})`);
  if (s.scores) {
    const { model, previous, heldoutImages } = s.scores;
    const versus = previous ? ` | ${previous.name} ${ap(previous.maskAP)}` : '';
    const boxVersus = previous ? ` | ${ap(previous.boxAP)}` : '';
    lines.push(`held-out mask AP (${heldoutImages} images): ${model.name} ${ap(model.maskAP)}${versus}; box AP ${ap(model.boxAP)}${boxVersus}`);
  }
  lines.push(s.decision);
  if (s.model) lines.push(`model: ${path.relative(folder, s.model.cardPath)} (and its -boxes and -zoo layouts, ${s.name}.pt) in ${folder}`);
  return `${lines.join('\n')}\n`;
}
