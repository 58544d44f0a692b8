import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { FileError } from '../fs/fileError.js';
import { defaultDbPath, openProject, type ProjectStore } from '../store/index.js';

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_FAILURE = 2;
/** The command did its work, and printed warnings about parts it left out (an export's skipped images). */
export const EXIT_WARNINGS = 3;

/** Where a command writes: stdout for results, stderr for progress. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** True when stderr is a terminal, so progress may redraw one line. */
  readonly interactive: boolean;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

/**
 * One `loupe` subcommand. A new one is a file in commands/ exporting a Command, added to the list in
 * commands/index.ts; `--help` and `--db` are given to every command.
 */
export interface Command {
  readonly name: string;
  /** One line for `loupe --help`. */
  readonly summary: string;
  /** The argument part of the usage line, e.g. '<folder> [--db FILE]'. */
  readonly usage: string;
  /** Lines describing each option, shown by `loupe <command> --help`. */
  readonly details?: readonly string[];
  readonly options: OptionSpec;
  /** Names of the positional arguments, in order; optional ones end in '?' and come last. */
  readonly positionals: readonly string[];
  /** Resolves with an exit status other than 0 when it has one to say (EXIT_WARNINGS). */
  run(args: ParsedArgs, io: CliIo): Promise<void | number>;
}

/** Wrong arguments: exit status 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure about one file or folder: exit status 2, printed as `loupe: <file>: <reason>`. */
export class CliError extends FileError {
  override name = 'CliError';
}

export const stringValue = (args: ParsedArgs, name: string): string | undefined => {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
};

/** The folder argument, which must be an existing directory. */
export function requireFolder(path: string): string {
  const folder = resolve(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(folder).isDirectory();
  } catch {
    throw new CliError(path, 'no such folder');
  }
  if (!isDirectory) throw new CliError(path, 'not a folder');
  return folder;
}

/**
 * Opens the project of `folder` (database from --db or `<folder>/.loupe/project.db`). With `mustExist`
 * a folder that was never scanned is an error instead of getting an empty database.
 */
export function openStore(args: ParsedArgs, options: { mustExist?: boolean } = {}): ProjectStore {
  const folder = requireFolder(args.positionals[0]!);
  const dbOption = stringValue(args, 'db');
  const dbPath = dbOption ? resolve(dbOption) : defaultDbPath(folder);
  if (options.mustExist && !exists(dbPath)) {
    throw new CliError(dbPath, `no Loupe project here yet; run \`loupe scan ${args.positionals[0]}\` first`);
  }
  try {
    return openProject(folder, { dbPath });
  } catch (error) {
    throw new CliError(dbPath, error instanceof Error ? error.message.replace(`${dbPath} `, '') : String(error));
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
