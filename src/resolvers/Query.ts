import { BadUserInputError, NotFoundError } from '../errors.ts';
import type { RerankMode } from '../services/search-settings.ts';
import { readUpload, uploadedFile } from './upload.ts';
import { fromGlobalId, type NodeType, parseGlobalId } from '../ids.ts';
import { authorize } from '../services/auth.ts';
import type { QueryResolvers } from './__generated__/resolvers-types.ts';

/** Returns null for a well-formed id that names nothing (Relay's `node` contract). */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

export const Query: QueryResolvers = {
  node: async (_, { id }, { services, loaders }) => {
    const ref = parseGlobalId(id);
    const load: Partial<Record<NodeType, (id: number) => Promise<object | null>>> = {
      Image: (n) => loaders.image.load(n),
      Slide: (n) => loaders.slide.load(n),
      Modality: (n) => loaders.modality.load(n),
      Job: (n) => orNull(services.jobs.get(n)),
      Vocabulary: (n) => loaders.vocabulary.load(n),
      Link: (n) => orNull(services.links.get(n)),
    };
    const row = await load[ref.type]?.(ref.id);
    return row ? ({ __typename: ref.type, ...row } as never) : null;
  },
  slides: (_, { first, after, filter }, { services }) => services.slides.list({ first, after }, { name: filter?.name, metadata: filter?.metadata }),
  slide: (_, { id }, { loaders }) => loaders.slide.load(fromGlobalId('Slide', id)),
  modalities: (_, __, { services }) => services.modalities.list(),
  models: (_, __, { services }) => services.models.list(),
  images: (_, { first, after, filter }, { services }) =>
    services.images.list(
      {
        modality: filter?.modality,
        slideId: filter?.slide ? fromGlobalId('Slide', filter.slide) : undefined,
        name: filter?.name,
        slideMetadata: filter?.slideMetadata,
      },
      { first, after },
    ),
  image: (_, { id }, { loaders }) => loaders.image.load(fromGlobalId('Image', id)),
  job: (_, { id }, { services }) => orNull(services.jobs.get(fromGlobalId('Job', id))),
  jobs: (_, { first, after, filter }, { services }) => services.jobs.list({ state: filter?.state, kind: filter?.kind }, { first, after }),
  links: (_, { first, after, filter }, { services }) =>
    services.links.list(
      {
        status: filter?.status,
        slideId: filter?.slide ? fromGlobalId('Slide', filter.slide) : undefined,
        sourceModality: filter?.sourceModality,
        targetModality: filter?.targetModality,
        createdAfter: filter?.createdAfter != null ? new Date(filter.createdAfter) : undefined,
      },
      { first, after },
    ),
  linkCounts: (_, __, { services }) => services.links.counts(),
  vocabularies: (_, { modality }, { services }) => services.vocabularies.list(modality ?? undefined),
  // the one query above reader (docs/adr/0014): every other query needs only what the operation check allows
  apiKeys: (_, __, { services, principal }) => {
    authorize(principal, 'admin');
    return services.keys.list();
  },
  search: async (_, { input }, { services, principal, maxUploadBytes }) => {
    if ((input.file == null) === (input.imageId == null)) {
      throw new BadUserInputError('give exactly one query: file (an upload) or imageId (a stored image)');
    }
    if (input.file != null) await services.admission.upload(principal);
    const data = input.file != null ? await readUpload(await uploadedFile(input.file), maxUploadBytes) : null;
    return services.admission.search(principal, () => services.search.search({
      data,
      imageId: input.imageId != null ? fromGlobalId('Image', input.imageId) : null,
      modality: input.modality,
      target: input.target,
      first: input.first,
      noDataValue: input.noDataValue,
      micronsPerPixel: input.micronsPerPixel,
      rerank: input.rerank && {
        mode: input.rerank.mode ? (input.rerank.mode.toLowerCase() as RerankMode) : null,
        topK: input.rerank.topK,
        maxRotation: input.rerank.maxRotation,
        scaleTolerance: input.rerank.scaleTolerance,
        structureWeight: input.rerank.structureWeight,
        refine: input.rerank.refine,
      },
    }));
  },
};
