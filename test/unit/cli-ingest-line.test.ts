import path from 'node:path';
import { expect, test } from 'vitest';
import { ingestErrorLine } from '../../src/cli/commands/ingest.ts';

test('an ingest error line names the file once: first, unless the message names it already', () => {
  // image.service.ts names the resolved path of a FIFO, a socket or a folder in its message
  const fifo = ingestErrorLine('in/fifo.png', 'BAD_USER_INPUT', `${path.resolve('in/fifo.png')} is a FIFO (named pipe), not a regular file`);
  expect(fifo).toBe(`error [BAD_USER_INPUT]: ${path.resolve('in/fifo.png')} is a FIFO (named pipe), not a regular file`);
  expect(ingestErrorLine('/data/a.tif', 'BAD_USER_INPUT', '/data/a.tif is a folder, not a regular file').match(/\/data\/a\.tif/g)).toHaveLength(1);
  // a message about the content does not name the file: it comes first
  expect(ingestErrorLine('in/cut.png', 'UNSUPPORTED_IMAGE', 'the image data is truncated')).toBe('error [UNSUPPORTED_IMAGE]: in/cut.png: the image data is truncated');
});
