import path from 'node:path';
import type { EvaluationSummary } from '../../../app/ipc/contract.js';
import { evaluationRecord, summarise } from '../../learning/evaluation.js';
import { predict, reviewedImages, score, truthOf, type Split } from '../../learning/scoring.js';
import { isProviderChoice, PROVIDER_CHOICES, type ProviderChoice } from '../../inference/providers.js';
import { CliError, openStore, stringValue, UsageError, type Command, type ParsedArgs } from '../command.js';

export function modelCardsOf(args: ParsedArgs): string[] {
  const given = args.values.model as unknown as string[] | undefined;
  return (given ?? []).map((card) => path.resolve(card));
}

export function providerOf(args: ParsedArgs): ProviderChoice {
  const text = stringValue(args, 'provider') ?? 'auto';
  if (!isProviderChoice(text)) throw new UsageError(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got '${text}'`);
  return text;
}

export function workersOf(args: ParsedArgs): number | undefined {
  const text = stringValue(args, 'workers');
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--workers must be a whole number of at least 1, got '${text}'`);
  return value;
}

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'score models on the reviewed images: COCO box and mask AP, per-class AP, precision, recall, suggested threshold',
  usage: '<folder> --model CARD [--model CARD ...] [--split heldout|all] [--provider P] [--workers N] [--json] [--db FILE]',
  details: [
    '--model CARD        a model card (beside its .onnx); give several to compare them on the same images',
    '--split heldout     the held-out reviewed images (about 1 in 5, by file content; never trained on by `loupe train`),',
    '                    the default; `all` scores on every reviewed image',
    '--provider, --workers  where and in how many processes the models run (as `loupe prelabel`)',
    '--json              print every figure as JSON',
    'Each model runs on the images afresh (stored predictions are not used); detections are scored against the',
    'reviewed truth with COCOeval (as pycocotools computes it): AP, AP50, AP75 for boxes and masks, AP per class, and',
    'precision, recall and F1 at the card\'s threshold and at the F1-maximising (suggested) threshold. The results are',
    'stored with the model (the app\'s model table shows them).',
  ],
  options: {
    model: { type: 'string', multiple: true },
    split: { type: 'string' },
    provider: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: ['folder'],
  async run(args, io) {
    const cards = modelCardsOf(args);
    if (cards.length === 0) throw new UsageError('evaluate needs --model CARD (once per model)');
    const split = (stringValue(args, 'split') ?? 'heldout') as Split;
    if (split !== 'heldout' && split !== 'all') throw new UsageError(`--split must be heldout or all, got '${String(split)}'`);
    const provider = providerOf(args);
    const workers = workersOf(args);
    const folder = args.positionals[0]!;
    const store = openStore(args, { mustExist: true });
    try {
      const images = reviewedImages(store, split);
      if (images.length === 0) {
        throw new CliError(folder, split === 'heldout'
          ? 'no reviewed image falls in the held-out split yet (about 1 in 5 does); review more, or use --split all'
          : 'no reviewed images to score on; review some first');
      }
      const truth = truthOf(store, images);
      const results: { name: string; cardPath: string; summary: EvaluationSummary; metrics: unknown; unknownClasses: string[] }[] = [];
      for (const card of cards) {
        io.err(`evaluate: running ${path.basename(card)} on ${images.length} ${split === 'all' ? 'reviewed' : 'held-out'} images\n`);
        let predictions;
        try {
          predictions = await predict(store, card, images, { provider, ...(workers !== undefined ? { workers } : {}) });
        } catch (error) {
          throw new CliError(card, (error as Error).message.replace(`${card}: `, ''));
        }
        if (predictions.failures.length > 0) {
          throw new CliError(card, `could not run on ${predictions.failures.length} images`, predictions.failures.map((f) => `${f.path}: ${f.message}`));
        }
        const scores = score(predictions.model, images, truth, predictions.byImage, store.categories.list());
        const record = await evaluationRecord(store, predictions.model, card, split, scores);
        results.push({ name: record.name, cardPath: card, summary: summarise(record.evaluation), metrics: { box: scores.box, mask: scores.mask }, unknownClasses: scores.unknownClasses });
      }
      const instances = results[0]!.summary.instances;
      if (args.values.json) {
        io.out(`${JSON.stringify({ split, images: images.length, instances, models: results }, null, 2)}\n`);
      } else {
        io.out(evaluationText(split, images.length, instances, results));
      }
    } finally {
      store.close();
    }
  },
};

const f = (value: number | null | undefined) => (value === null || value === undefined ? '  n/a' : value.toFixed(3));

function evaluationText(split: Split, images: number, instances: number, results: readonly { name: string; summary: EvaluationSummary; unknownClasses: string[] }[]): string {
  const width = Math.max(5, ...results.map((r) => r.name.length));
  const lines = [
    `${split === 'all' ? 'all reviewed' : 'held-out'} images: ${images}, instances: ${instances}`,
    `${'model'.padEnd(width)}  mask AP  AP50   AP75   box AP  AP50   AP75   thr    P      R      F1     suggested  P      R      F1`,
  ];
  for (const { name, summary: s } of results) {
    lines.push(`${name.padEnd(width)}  ${f(s.mask?.AP)}    ${f(s.mask?.AP50)}  ${f(s.mask?.AP75)}  ${f(s.box.AP)}   ${f(s.box.AP50)}  ${f(s.box.AP75)}  ` +
      `${f(s.threshold)}  ${f(s.atThreshold.precision)}  ${f(s.atThreshold.recall)}  ${f(s.atThreshold.f1)}  ${f(s.suggested.score)}      ` +
      `${f(s.suggested.precision)}  ${f(s.suggested.recall)}  ${f(s.suggested.f1)}`);
  }
  for (const { name, summary: s, unknownClasses } of results) {
    lines.push(`${name}, per class (${s.mask ? 'mask' : 'box'} AP; precision, recall, F1 at ${f(s.threshold)}; suggested threshold):`);
    const classWidth = Math.max(5, ...s.perClass.map((c) => c.name.length));
    for (const c of s.perClass) {
      lines.push(`  ${c.name.padEnd(classWidth)}  AP ${f(s.mask ? c.maskAP : c.boxAP)}  P ${f(c.precision)}  R ${f(c.recall)}  F1 ${f(c.f1)}  ` +
        `suggested ${f(c.suggested)}  (${c.instances} instances)`);
    }
    if (unknownClasses.length > 0) lines.push(`  not scored (no such class in the project): ${unknownClasses.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
