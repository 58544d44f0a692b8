import path from 'node:path';
import { serveFolder } from '../../bridge/serve.js';
import { requireFolder, stringValue, UsageError, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'open a folder in the review UI in a local browser (127.0.0.1 only, token-protected)',
  usage: '<folder> [--port N] [--model CARD.json]',
  details: [
    '--port N            port on 127.0.0.1; default: a free one',
    '--model CARD.json   offer this model (and its folder) for pre-labelling before the shipped one',
    'Prints the URL to open, with a one-time token that the first page load exchanges for a session cookie.',
    'Ctrl-C stops the server; every edit is already saved.',
  ],
  options: { port: { type: 'string' }, model: { type: 'string' } },
  positionals: ['folder'],
  async run(args, io) {
    if (stringValue(args, 'db') !== undefined) throw new UsageError('serve keeps the project database in <folder>/.loupe; --db is not supported');
    const portText = stringValue(args, 'port');
    const port = portText === undefined ? 0 : Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, got '${portText}'`);
    const folder = requireFolder(args.positionals[0]!);
    const model = stringValue(args, 'model');
    const serving = await serveFolder(folder, {
      port,
      ...(model ? { modelDir: path.dirname(path.resolve(model)) } : {}),
      log: (message) => io.err(`${message}\n`),
    });
    io.out(`Loupe is serving ${folder}\nOpen ${serving.bridge.url}\n(the link opens one browser session and then stops working; restart serve for a new one)\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    io.err('stopping\n');
    await serving.close();
  },
};
