// Child process of main/ipc/crash-safety.test.ts: applies review edits to a project through the real IPC
// dispatcher, one after another, and says on stdout what it is about to send and when main acknowledged it,
// until it is killed. argv: <folder> <seed>.
import { createDispatcher } from '../../dist/main/ipc/dispatcher.js';
import { createHandlers } from '../../dist/main/ipc/handlers.js';
import { createServices } from '../../dist/main/services/index.js';
import { openProject } from '../../dist/main/store/index.js';

const [folder, seedText] = process.argv.slice(2);
const store = openProject(folder);
const services = createServices({ models: { shippedDir: folder, userDir: folder }, emit: () => {}, store });
const dispatch = createDispatcher(createHandlers(services));
// Waits until the line is in the pipe: a write still queued in this process (the pipe full while the test reads
// slowly under load) would die with it, and the test would miss an edit that was stored.
const say = (message) => new Promise((resolve, reject) => process.stdout.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve())));

let seed = Number(seedText) >>> 0;
const random = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const int = (n) => Math.floor(random() * n);

const image = store.images.list({ limit: 1 }).items[0];
const [category] = store.categories.ensure(['crash-test']);

async function call(channel, request) {
  const reply = await dispatch(channel, request);
  if (!reply.ok) throw new Error(`${channel}: ${reply.error.message}`);
  return reply.value;
}

for (let seq = 0; ; seq++) {
  const { annotations } = await call('annotations.list', { imageId: image.id });
  const box = () => [int(image.width - 10), int(image.height - 10), 1 + int(9), 1 + int(9)];
  const added = Array.from({ length: 1 + int(3) }, (_, k) => ({
    id: `s${seedText}-e${seq}-${k}`, imageId: image.id, categoryId: category.id, bbox: box(), mask: null,
    score: null, origin: 'human', modelId: null, state: 'accepted',
  }));
  const updated = annotations.slice(0, int(3)).map((before) => ({ before, after: { ...before, bbox: box() } }));
  const removed = annotations.length > 20 ? annotations.slice(-1 - int(2)) : [];
  const changes = { added, updated, removed };
  await say({ type: 'sending', seq, changes });
  await call('annotations.apply', { imageId: image.id, changes });
  await say({ type: 'acked', seq });
}
