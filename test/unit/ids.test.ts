import { expect, test } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { invalidParameter } from '../../src/errors.ts';
import { decodeCursor, encodeCursor, fromGlobalId, parseGlobalId, toGlobalId } from '../../src/ids.ts';

test('global ids round-trip and carry their type', () => {
  const id = toGlobalId('Image', 42);
  expect(id).not.toContain('42');
  expect(parseGlobalId(id)).toEqual({ type: 'Image', id: 42 });
  expect(fromGlobalId('Image', id)).toBe(42);
});

test('a wrong type or a malformed id is BAD_USER_INPUT', () => {
  expect(() => fromGlobalId('Slide', toGlobalId('Image', 1))).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  expect(() => parseGlobalId('nonsense')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  expect(() => parseGlobalId(Buffer.from('Image:0').toString('base64url'))).toThrow(/not a valid id/);
  expect(() => parseGlobalId(Buffer.from('Secret:1').toString('base64url'))).toThrow(/not a valid id/);
});

test('cursors round-trip; a bad cursor is BAD_USER_INPUT', () => {
  expect(decodeCursor(encodeCursor(7))).toBe(7);
  expect(() => decodeCursor('xyz')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
});

test('parameter errors use one format', () => {
  expect(invalidParameter('size', 'an integer between 16 and 1024', 'big').message).toBe(
    'Expected an integer between 16 and 1024 for size but received "big" of type string',
  );
});

test('config: flags beat environment, bad values are typed errors', () => {
  const env = { CMIR_HOME: '/data/cmir', PORT: '5000' };
  expect(loadConfig({}, env)).toMatchObject({ home: '/data/cmir', port: 5000, databaseUrl: undefined, ingestRoots: [] });
  expect(loadConfig({ home: '/x', port: 81 }, env)).toMatchObject({ home: '/x', port: 81 });
  expect(() => loadConfig({ port: 'eighty' }, {})).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  expect(() => loadConfig({}, { DATABASE_URL: 'mysql://x' })).toThrow(/postgresql/);
  // pipeline worker threads (docs/adr/0020): 1 unless set, and a positive integer when set
  expect(loadConfig({}, {}).pipelineThreads).toBe(1);
  expect(loadConfig({}, { CMIR_PIPELINE_THREADS: '3' }).pipelineThreads).toBe(3);
  expect(() => loadConfig({}, { CMIR_PIPELINE_THREADS: '0' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
});
