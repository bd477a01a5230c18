/** Issue 19 part 5: errors repeat at most MAX_ECHO_CHARS of a client's input, so a huge argument does not come back whole. */
import { describe, expect, test } from 'vitest';
import { echo, invalidParameter, MAX_ECHO_CHARS, NotFoundError } from '../../src/errors.ts';

describe('echo of user input in errors', () => {
  test('short input is shown as it is; long input is cut to MAX_ECHO_CHARS and says its length', () => {
    expect(MAX_ECHO_CHARS).toBe(200);
    expect(echo('SHG')).toBe('SHG');
    expect(echo('a'.repeat(200))).toBe('a'.repeat(200));
    const cut = echo('b'.repeat(100_000));
    expect(cut).toBe(`${'b'.repeat(200)}… (100000 characters)`);
  });

  test('invalidParameter and NotFoundError repeat at most 200 characters of a huge value', () => {
    const huge = 'x'.repeat(1_000_000);
    const bad = invalidParameter('modality', 'a short name', huge);
    expect(bad.message.length).toBeLessThan(400);
    expect(bad.message).toContain('(1000000 characters)');
    const missing = new NotFoundError('Modality', huge);
    expect(missing.message.length).toBeLessThan(400);
    expect(String(missing.details.id).length).toBeLessThan(250);
  });
});
