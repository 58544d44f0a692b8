import { parseArgs } from 'node:util';
import { FileError } from '../fs/fileError.js';
import { restrictImageLoaders } from '../fs/image-loaders.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type CliIo, type Command, type ParsedArgs } from './command.js';
import { commands } from './commands/index.js';

export { CliError, UsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, EXIT_WARNINGS } from './command.js';
export type { CliIo, Command, ParsedArgs } from './command.js';

const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  db: { type: 'string' },
} as const;

export function usageText(list: readonly Command[] = commands): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    'usage: loupe <command> [options]',
    '',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    ...list.map((c) => `  loupe ${c.name} ${c.usage}`),
    '',
    'The project database is <folder>/.loupe/project.db unless --db FILE names another (for read-only folders).',
    'Exit status: 0 success, 1 usage error, 2 runtime error, 3 done with warnings (an export that left images out),',
    '130 training stopped by Ctrl-C at a checkpoint (the same command continues it).',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`usage: loupe ${command.name} ${command.usage}`, '', command.summary, ...(command.details ?? []).map((d) => `  ${d}`), ''].join('\n');
}

function parse(command: Command, argv: readonly string[]): ParsedArgs & { help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...commonOptions, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const help = parsed.values.help === true;
  // A name ending in '?' is an optional positional (after the required ones).
  const required = command.positionals.filter((p) => !p.endsWith('?')).length;
  if (!help && (parsed.positionals.length < required || parsed.positionals.length > command.positionals.length)) {
    const expected = command.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : `<${p}>`)).join(' ');
    throw new UsageError(`${command.name} takes ${expected}, got ${parsed.positionals.length} argument(s)`);
  }
  return { positionals: parsed.positionals, values: parsed.values as ParsedArgs['values'], help };
}

/**
 * The process's own stdout and stderr. A reader that goes away (`loupe stats | head -1`) is not an error: what
 * is left to print is dropped, and the command finishes its work and exits with its own status.
 */
function processIo(): CliIo {
  const writer = (stream: NodeJS.WriteStream) => {
    let open = true;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      open = false;
    });
    return (text: string) => void (open && stream.write(text));
  };
  return { out: writer(process.stdout), err: writer(process.stderr), interactive: Boolean(process.stderr.isTTY) };
}

/** Runs `loupe` with these arguments and returns the exit status; errors are printed as one line. */
export async function main(argv: readonly string[], io: CliIo = processIo(), list: readonly Command[] = commands): Promise<number> {
  // Files are decoded in the untrusted-files process and the inference workers; should the CLI's own process ever
  // reach libvips, only Loupe's loaders are there.
  restrictImageLoaders();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const command = list.find((c) => c.name === rest[0]);
    (name === undefined ? io.err : io.out)(command ? commandHelp(command) : usageText(list));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = list.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`unknown command '${name}' (try loupe --help)`);
    const args = parse(command, rest);
    if (args.help) {
      io.out(commandHelp(command));
      return EXIT_OK;
    }
    return (await command.run(args, io)) ?? EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`loupe: ${error.message}\n${command ? `usage: loupe ${command.name} ${command.usage}\n` : ''}`);
      return EXIT_USAGE;
    }
    if (error instanceof FileError) {
      io.err(`loupe: ${error.file}: ${oneLine(error.reason)}\n${error.details.map((line) => `  ${oneLine(line)}\n`).join('')}`);
      return EXIT_FAILURE;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`loupe: ${argv[1] ?? name}: ${oneLine(message)}\n`);
    return EXIT_FAILURE;
  }
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  // Node's own text for unknown options goes on about '--'; the first sentence says it all.
  return code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? message.split('. ')[0]!.replace(/^Unknown/, 'unknown') : message;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
