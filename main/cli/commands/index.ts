import type { Command } from '../command.js';
import { compareCommand } from './compare.js';
import { evaluateCommand } from './evaluate.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { prelabelCommand } from './prelabel.js';
import { reviewCommand } from './review.js';
import { scanCommand } from './scan.js';
import { segmentCommand } from './segment.js';
import { serveCommand } from './serve.js';
import { statsCommand } from './stats.js';
import { trainCommand } from './train.js';

/** Every `loupe` subcommand, in the order `loupe --help` lists them. */
export const commands: readonly Command[] = [
  scanCommand, prelabelCommand, reviewCommand, statsCommand, importCommand, exportCommand, segmentCommand, trainCommand, evaluateCommand, compareCommand, serveCommand,
];
