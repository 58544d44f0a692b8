import { describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../../app/ipc/contract.js';
import { CategoryId, ConflictError, ImageId, InvalidInputError, NotFoundError, type ImageRecord } from '../../app/model/index.js';
import { createDispatcher, decodeRequest, forRenderer } from './dispatcher.js';
import type { Handlers } from './handlers.js';

const image: ImageRecord = { id: ImageId(7), path: 'a.jpg', width: 4, height: 3, orientation: 1, hash: 'h', status: 'new', error: null, missing: false };

// Only the channels this test calls; the dispatcher never touches the others.
const handlers = {
  'images.get': ({ id }) => {
    if (id !== 7) throw new NotFoundError(`image ${id} does not exist`);
    return image;
  },
  'images.setStatus': ({ status }) => {
    if (status === 'error') throw Object.assign(new Error("EACCES: permission denied, open '/home/ann/My Photos/a.jpg'"), { path: '/home/ann/My Photos/a.jpg' });
    throw new Error('disk full');
  },
  'categories.create': async ({ name }) => {
    if (name === 'taken') throw new ConflictError(`a class named 'taken' already exists`);
    if (name === 'bad') throw new InvalidInputError('bad: not a name');
    if (name === 'model') throw new InvalidInputError('/home/ann/models/x.onnx: the graph has no output "masks"');
    return { id: CategoryId(1), name, color: '#112233' };
  },
} as Partial<Handlers> as Handlers;

describe('createDispatcher', () => {
  const unexpected: string[] = [];
  const dispatch = createDispatcher(handlers, { onUnexpected: (_e, channel) => unexpected.push(channel) });

  it('answers a valid request with the handler value', async () => {
    expect(await dispatch('images.get', { id: 7 })).toEqual({ ok: true, value: image });
  });

  it('validates and normalises requests before the handler sees them', async () => {
    expect(await dispatch('categories.create', { name: '  cat  ' })).toEqual({ ok: true, value: { id: 1, name: 'cat', color: '#112233' } });
  });

  it('answers malformed requests with invalid-request naming the field', async () => {
    const reply = await dispatch('images.get', { id: 'seven' });
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('invalid-request');
      expect(reply.error.message).toMatch(/images\.get.*id/s);
    }
    expect(await dispatch('images.get', { id: -1 })).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    expect(await dispatch('images.get', null)).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
  });

  it('answers unknown channels, including prototype names', async () => {
    expect(await dispatch('nope', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(await dispatch('toString', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(await dispatch(42, {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
  });

  it('turns handler errors into replies instead of throwing', async () => {
    expect(await dispatch('images.get', { id: 8 })).toEqual({ ok: false, error: { code: 'not-found', message: 'image 8 does not exist' } });
    expect(await dispatch('images.setStatus', { id: 7, status: 'reviewed' })).toEqual({ ok: false, error: { code: 'failed', message: 'disk full' } });
    expect(unexpected).toEqual(['images.setStatus']);
  });

  it('maps each kind of domain error to its code, in this one place', async () => {
    expect(await dispatch('categories.create', { name: 'taken' })).toEqual({ ok: false, error: { code: 'conflict', message: `a class named 'taken' already exists` } });
    expect(await dispatch('categories.create', { name: 'bad' })).toEqual({ ok: false, error: { code: 'invalid-request', message: 'bad: not a name' } });
    expect(unexpected).toEqual(['images.setStatus']);
  });
});

describe('error replies', () => {
  it('carry no local path: a model error naming /home/…/x.onnx arrives as x.onnx, a file in the project by its project path', async () => {
    const dispatch = createDispatcher(handlers, { localPaths: () => ({ projectFolder: '/home/ann/My Photos', known: [] }) });
    expect(await dispatch('categories.create', { name: 'model' })).toEqual({
      ok: false, error: { code: 'invalid-request', message: 'x.onnx: the graph has no output "masks"' },
    });
    expect(await dispatch('images.setStatus', { id: 7, status: 'error' })).toEqual({
      ok: false, error: { code: 'failed', message: "EACCES: permission denied, open 'a.jpg'" },
    });
  });
});

describe('forRenderer', () => {
  it('answers only the channels the UI uses, refusing the others before they are validated or run', async () => {
    const ran: string[] = [];
    const dispatch = forRenderer(createDispatcher(handlers, { onUnexpected: (_e, channel) => ran.push(channel) }));
    expect(await dispatch('images.get', { id: 7 })).toEqual({ ok: true, value: image });
    expect(await dispatch('images.setStatus', { id: 7, status: 'reviewed' })).toEqual({
      ok: false, error: { code: 'unknown-channel', message: '"images.setStatus" is not a channel the UI may call' },
    });
    expect(await dispatch('models.download', {})).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    expect(ran).toEqual([]);
  });
});

describe('decodeRequest', () => {
  it('parses a well-formed message', () => {
    expect(decodeRequest('{"id":1,"channel":"images.get","request":{"id":7}}')).toEqual({ ok: true, id: 1, channel: 'images.get', request: { id: 7 } });
  });

  it('refuses non-JSON, wrong shapes and oversized messages', () => {
    expect(decodeRequest('{')).toMatchObject({ ok: false, code: 'invalid-request', id: null });
    expect(decodeRequest('{"id":3,"channel":5}')).toMatchObject({ ok: false, code: 'invalid-request', id: 3 });
    expect(decodeRequest('x'.repeat(MAX_PAYLOAD_BYTES + 1))).toMatchObject({ ok: false, code: 'too-large' });
  });
});
