import path from 'node:path';
import { BadUserInputError } from '../errors.ts';
import type { Normalization } from '../pipeline/decode/decode.ts';
import { readUpload, uploadedFile } from './upload.ts';
import { fromGlobalId, toGlobalId } from '../ids.ts';
import { actorOf, roleIncludes } from '../services/auth.ts';
import type { Context } from '../server/context.ts';
import type { IngestImageInput, MutationResolvers } from './__generated__/resolvers-types.ts';
import { guardMutations } from './mutation-roles.ts';

/** Every resolver here runs behind its role (mutation-roles.ts: MUTATION_POLICY), checked before it starts. */
export const Mutation: MutationResolvers = guardMutations({
  createSlide: (_, { input }, { services }) => services.slides.create(input),
  updateSlideMetadata: (_, { input }, { services }) =>
    services.slides.updateMetadata(fromGlobalId('Slide', input.id), input.metadata, input.merge ?? true),
  createModality: (_, { input }, { services }) =>
    services.modalities.create({
      name: input.name,
      channels: input.channels ?? undefined,
      normalization: (input.normalization ?? 'LINEAR').toLowerCase() as Normalization,
    }),
  ingestImage: async (_, { input }, context) => {
    const { services } = context;
    const { options, upload } = await ingestArgs(input, context);
    if (upload) return services.images.ingest({ ...options, ...upload });
    // a file on the server may be a whole-slide image: stored as it is and tiled by a job (Image.wholeSlide)
    const file = await services.images.assertServerPath(input.path!);
    return (await services.images.ingestFile(file, { ...options, name: input.name ?? pathName(input.path!) })).image;
  },
  queueImageIngestion: async (_, { input }, context) => {
    const { services } = context;
    const { options, upload } = await ingestArgs(input, context);
    if (upload) return services.images.submit({ ...options, ...upload });
    const file = await services.images.assertServerPath(input.path!);
    return services.images.submitFile(file, { ...options, name: input.name ?? pathName(input.path!) });
  },
  registerModel: async (_, { input }, { services }) => {
    const dir = await services.images.assertServerPath(input.dir, true);
    const mapping = (input.mapping ?? {}) as Record<string, string | string[]>;
    return (await services.models.register(dir, mapping)).modalities;
  },
  buildVocabulary: (_, { input }, { services }) =>
    services.vocabularies.build(input.modality, {
      size: input.size ?? undefined,
      seed: input.seed ?? undefined,
      oriented: input.oriented ?? undefined,
    }),
  reindex: (_, { input }, { services }) => services.embeddings.reindex(input?.modality ?? null),
  cancelJob: (_, { id }, { services }) => services.jobs.cancel(fromGlobalId('Job', id)),
  linkAcquisition: (_, { input }, { services, principal }) =>
    services.links.link(
      {
        sourceId: fromGlobalId('Image', input.source),
        targetId: fromGlobalId('Image', input.target),
        region: input.region,
        transform: input.transform,
        score: input.score,
        method: input.method,
      },
      actorOf(principal),
    ),
  setLinkStatus: (_, { input }, { services, principal }) =>
    services.links.setStatus(fromGlobalId('Link', input.id), input.status, actorOf(principal), input.comment),
  deleteImage: async (_, { id }, { services }) => {
    const image = await services.images.delete(fromGlobalId('Image', id));
    return { deletedId: toGlobalId('Image', image.id) };
  },
  createApiKey: (_, { input }, { services, principal }) => services.keys.create(input.name, input.role.toLowerCase(), actorOf(principal)),
  revokeApiKey: (_, { id }, { services, principal }) => services.keys.revoke(fromGlobalId('ApiKey', id), actorOf(principal)),
});

/** The default image name of a server path: its file name without extension (as given, before links are resolved). */
function pathName(p: string): string {
  return path.parse(p).name;
}

/**
 * What both ingestion mutations check and read first: exactly one of file and path, the key's upload rate
 * (docs/adr/0024), the options, and an upload's bytes.
 */
async function ingestArgs(input: IngestImageInput, { services, principal, maxUploadBytes }: Context) {
  if ((input.file == null) === (input.path == null)) {
    throw new BadUserInputError('give exactly one of file (an upload) and path (a file on the server)');
  }
  // an ingestion is heavy work whichever way the file comes: counted against the key's rate (docs/adr/0024)
  await services.admission.upload(principal);
  const options = {
    modality: input.modality,
    slide: input.slide,
    name: input.name,
    page: input.page,
    noDataValue: input.noDataValue,
    micronsPerPixel: input.micronsPerPixel,
    // a new modality is the admin's to make (docs/adr/0014); a curator's image of an unknown one is FORBIDDEN
    createModality: principal.kind === 'key' && roleIncludes(principal.role, 'admin'),
  };
  if (input.file == null) return { options, upload: null };
  const file = await uploadedFile(input.file);
  // a part without a file name (or with one busboy cannot read) has none: the image then needs `name`
  return { options, upload: { data: await readUpload(file, maxUploadBytes), fileName: file.filename ?? '' } };
}
