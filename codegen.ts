import type { CodegenConfig } from '@graphql-codegen/cli';

/** Resolver types generated from the SDL (src/schema/*.graphql); committed, and checked for drift by `npm run check`. */
const config: CodegenConfig = {
  schema: 'src/schema/*.graphql',
  generates: {
    'src/resolvers/__generated__/resolvers-types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useIndexSignature: true,
        contextType: '../../server/context.ts#Context',
        defaultScalarType: 'unknown',
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'Date | string', JSON: 'unknown', Upload: 'Promise<import("graphql-upload-minimal").FileUpload>', ID: 'string' },
        mappers: {
          Image: '../../db/generated/client.ts#Image as ImageRow',
          Slide: '../../db/generated/client.ts#Slide as SlideRow',
          Modality: '../../db/generated/client.ts#Modality as ModalityRow',
          Job: '../../db/generated/client.ts#Job as JobRow',
          Link: '../../db/generated/client.ts#Link as LinkRow',
          LinkEvent: '../../db/generated/client.ts#AuditEvent as AuditEventRow',
          LinkCounts: '../../db/link.repository.ts#LinkCounts as LinkCountsRow',
          ApiKey: '../../db/generated/client.ts#ApiKey as ApiKeyRow',
          CreateApiKeyPayload: '../../services/key.service.ts#CreatedKey',
          ComirModel: '../../db/generated/client.ts#ComirModel as ComirModelRow',
          Vocabulary: '../../db/vocabulary.repository.ts#VocabularyInfo',
          Match: '../../services/search.service.ts#SearchMatch',
          SearchResult: '../../services/search.service.ts#SearchResult as SearchResultData',
        },
      },
    },
  },
};
export default config;
