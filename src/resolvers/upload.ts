import type { FileUpload } from 'graphql-upload-minimal';
import { BadUserInputError, PayloadTooLargeError } from '../errors.ts';

/** Reads an upload into memory, failing with PAYLOAD_TOO_LARGE past `limit` bytes. */
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
    throw new BadUserInputError(`the upload could not be read: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

