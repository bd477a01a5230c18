import type { FileUpload } from 'graphql-upload-minimal';
import { BadUserInputError, PayloadTooLargeError } from '../errors.ts';
import { fromGlobalId, toGlobalId } from '../ids.ts';
import type { MutationResolvers } from './__generated__/resolvers-types.ts';

/** Reads an upload into memory, failing with PAYLOAD_TOO_LARGE past `limit` bytes. */
async function readUpload(upload: FileUpload, limit: number): Promise<Buffer> {
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

export const Mutation: MutationResolvers = {
  createSlide: (_, { input }, { services }) => services.slides.create(input),
  updateSlideMetadata: (_, { input }, { services }) =>
    services.slides.updateMetadata(fromGlobalId('Slide', input.id), input.metadata, input.merge ?? true),
  createModality: (_, { input }, { services }) =>
    services.modalities.create({
      name: input.name,
      channels: input.channels ?? undefined,
      normalization: input.normalization === 'LOG1P' ? 'log1p' : 'linear',
    }),
  ingestImage: async (_, { input }, { services }) => {
    if ((input.file == null) === (input.path == null)) {
      throw new BadUserInputError('give exactly one of file (an upload) and path (a file on the server)');
    }
    let data: Buffer;
    let fileName: string;
    if (input.file != null) {
      const upload = await input.file;
      data = await readUpload(upload, services.images.maxUploadBytes);
      fileName = upload.filename;
    } else {
      data = await services.images.readServerFile(input.path!);
      fileName = input.path!;
    }
    return services.images.ingest({
      data,
      fileName,
      modality: input.modality,
      slide: input.slide,
      name: input.name,
      page: input.page,
    });
  },
  deleteImage: async (_, { id }, { services }) => {
    const image = await services.images.delete(fromGlobalId('Image', id));
    return { deletedId: toGlobalId('Image', image.id) };
  },
};
