import type { FileUpload } from 'graphql-upload-minimal';
import { BadRequestError, PayloadTooLargeError } from '../errors.ts';

/**
 * Reads an upload into memory, failing with PAYLOAD_TOO_LARGE past `limit` bytes, and with BAD_REQUEST (HTTP 400)
 * when the body ends before the file does ("Unexpected end of form") or cannot be parsed: nothing is ingested then.
 */
export async function readUpload(upload: FileUpload, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of upload.createReadStream()) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new PayloadTooLargeError(`the upload exceeds the limit of ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof PayloadTooLargeError) throw e;
    if ((e as { status?: number }).status === 413) throw new PayloadTooLargeError((e as Error).message);
    throw new BadRequestError(`the upload could not be read: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

