import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { Image as ImageRow, Slide as SlideRow, Modality as ModalityRow, Job as JobRow } from '../../db/generated/client.ts';
import type { Context } from '../../server/context.ts';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An ISO-8601 date-time string. */
  DateTime: { input: Date | string; output: Date | string; }
  /** Arbitrary JSON (an object for metadata). */
  JSON: { input: unknown; output: unknown; }
  /** A file per the GraphQL multipart request spec. */
  Upload: { input: Promise<import("graphql-upload-minimal").FileUpload>; output: Promise<import("graphql-upload-minimal").FileUpload>; }
};

export type CreateModalityInput = {
  channels?: InputMaybe<Scalars['Int']['input']>;
  name: Scalars['String']['input'];
  normalization?: InputMaybe<Normalization>;
};

export type CreateSlideInput = {
  metadata?: InputMaybe<Scalars['JSON']['input']>;
  name: Scalars['String']['input'];
};

export type DeleteImagePayload = {
  __typename?: 'DeleteImagePayload';
  deletedId: Scalars['ID']['output'];
};

/** One acquisition: a stored file of one modality, optionally on a slide. */
export type Image = Node & {
  __typename?: 'Image';
  bitDepth: Scalars['Int']['output'];
  byteSize: Scalars['Int']['output'];
  channels: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  format: Scalars['String']['output'];
  height: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
  modality: Modality;
  name: Scalars['String']['output'];
  sha256: Scalars['String']['output'];
  slide?: Maybe<Slide>;
  /** URL of a PNG thumbnail (longer side `size` px), served by this server. */
  thumbnailUrl: Scalars['String']['output'];
  width: Scalars['Int']['output'];
};


/** One acquisition: a stored file of one modality, optionally on a slide. */
export type ImageThumbnailUrlArgs = {
  size?: InputMaybe<Scalars['Int']['input']>;
};

export type ImageConnection = {
  __typename?: 'ImageConnection';
  edges: Array<ImageEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ImageEdge = {
  __typename?: 'ImageEdge';
  cursor: Scalars['String']['output'];
  node: Image;
};

export type ImageFilter = {
  modality?: InputMaybe<Scalars['String']['input']>;
  slide?: InputMaybe<Scalars['ID']['input']>;
};

export type IngestImageInput = {
  /** The file, uploaded per the GraphQL multipart request spec. Exactly one of file and path. */
  file?: InputMaybe<Scalars['Upload']['input']>;
  modality: Scalars['String']['input'];
  /** Defaults to the file name without its extension. */
  name?: InputMaybe<Scalars['String']['input']>;
  /** Page of a multi-page TIFF (0-based). */
  page?: InputMaybe<Scalars['Int']['input']>;
  /** A path on the server, for batch ingestion of files already there. */
  path?: InputMaybe<Scalars['String']['input']>;
  /** Slide name; created when it does not exist yet. */
  slide?: InputMaybe<Scalars['String']['input']>;
};

/** Long-running work (vocabulary builds, re-quantisation) with progress. */
export type Job = Node & {
  __typename?: 'Job';
  createdAt: Scalars['DateTime']['output'];
  done: Scalars['Int']['output'];
  error?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  kind: Scalars['String']['output'];
  /** done / total in [0,1]; 0 while total is unknown. */
  progress: Scalars['Float']['output'];
  result?: Maybe<Scalars['JSON']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  state: JobState;
  total: Scalars['Int']['output'];
};

export type JobState =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

/** An imaging modality (SHG, BF, NIR, ...). */
export type Modality = Node & {
  __typename?: 'Modality';
  channels: Scalars['Int']['output'];
  /** Name of the CoMIR model pair that maps this modality, if any. */
  comirModel?: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  imageCount: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  normalization: Normalization;
};

export type Mutation = {
  __typename?: 'Mutation';
  _empty?: Maybe<Scalars['Boolean']['output']>;
  createModality: Modality;
  createSlide: Slide;
  deleteImage: DeleteImagePayload;
  ingestImage: Image;
  updateSlideMetadata: Slide;
};


export type MutationCreateModalityArgs = {
  input: CreateModalityInput;
};


export type MutationCreateSlideArgs = {
  input: CreateSlideInput;
};


export type MutationDeleteImageArgs = {
  id: Scalars['ID']['input'];
};


export type MutationIngestImageArgs = {
  input: IngestImageInput;
};


export type MutationUpdateSlideMetadataArgs = {
  input: UpdateSlideMetadataInput;
};

/** An object with a global id (Relay). */
export type Node = {
  id: Scalars['ID']['output'];
};

/** How a modality's pixels become [0,1] before CoMIR. */
export type Normalization =
  | 'LINEAR'
  /** log(1+x), as the reference applies to SHG. */
  | 'LOG1P';

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type Query = {
  __typename?: 'Query';
  image?: Maybe<Image>;
  images: ImageConnection;
  job?: Maybe<Job>;
  modalities: Array<Modality>;
  /** Fetches any object by its global id. */
  node?: Maybe<Node>;
  slide?: Maybe<Slide>;
  slides: SlideConnection;
};


export type QueryImageArgs = {
  id: Scalars['ID']['input'];
};


export type QueryImagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ImageFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryJobArgs = {
  id: Scalars['ID']['input'];
};


export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


export type QuerySlideArgs = {
  id: Scalars['ID']['input'];
};


export type QuerySlidesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};

/** A physical specimen or tissue section; acquisitions of several modalities belong to it. */
export type Slide = Node & {
  __typename?: 'Slide';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  images: ImageConnection;
  metadata: Scalars['JSON']['output'];
  name: Scalars['String']['output'];
};


/** A physical specimen or tissue section; acquisitions of several modalities belong to it. */
export type SlideImagesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  modality?: InputMaybe<Scalars['String']['input']>;
};

export type SlideConnection = {
  __typename?: 'SlideConnection';
  edges: Array<SlideEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type SlideEdge = {
  __typename?: 'SlideEdge';
  cursor: Scalars['String']['output'];
  node: Slide;
};

export type UpdateSlideMetadataInput = {
  id: Scalars['ID']['input'];
  /** true: merge keys into the existing metadata (null deletes a key); false: replace it. */
  merge?: InputMaybe<Scalars['Boolean']['input']>;
  metadata: Scalars['JSON']['input'];
};

export type WithIndex<TObject> = TObject & Record<string, any>;
export type ResolversObject<TObject> = WithIndex<TObject>;

export type ResolverTypeWrapper<T> = Promise<T> | T;


export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;




/** Mapping of interface types */
export type ResolversInterfaceTypes<_RefType extends Record<string, unknown>> = ResolversObject<{
  Node:
    | ( ImageRow )
    | ( JobRow )
    | ( ModalityRow )
    | ( SlideRow )
  ;
}>;

/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  CreateModalityInput: CreateModalityInput;
  CreateSlideInput: CreateSlideInput;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DeleteImagePayload: ResolverTypeWrapper<DeleteImagePayload>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  Image: ResolverTypeWrapper<ImageRow>;
  ImageConnection: ResolverTypeWrapper<Omit<ImageConnection, 'edges'> & { edges: Array<ResolversTypes['ImageEdge']> }>;
  ImageEdge: ResolverTypeWrapper<Omit<ImageEdge, 'node'> & { node: ResolversTypes['Image'] }>;
  ImageFilter: ImageFilter;
  IngestImageInput: IngestImageInput;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
  JSON: ResolverTypeWrapper<Scalars['JSON']['output']>;
  Job: ResolverTypeWrapper<JobRow>;
  JobState: JobState;
  Modality: ResolverTypeWrapper<ModalityRow>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Node: ResolverTypeWrapper<ResolversInterfaceTypes<ResolversTypes>['Node']>;
  Normalization: Normalization;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Slide: ResolverTypeWrapper<SlideRow>;
  SlideConnection: ResolverTypeWrapper<Omit<SlideConnection, 'edges'> & { edges: Array<ResolversTypes['SlideEdge']> }>;
  SlideEdge: ResolverTypeWrapper<Omit<SlideEdge, 'node'> & { node: ResolversTypes['Slide'] }>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  UpdateSlideMetadataInput: UpdateSlideMetadataInput;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  Boolean: Scalars['Boolean']['output'];
  CreateModalityInput: CreateModalityInput;
  CreateSlideInput: CreateSlideInput;
  DateTime: Scalars['DateTime']['output'];
  DeleteImagePayload: DeleteImagePayload;
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  Image: ImageRow;
  ImageConnection: Omit<ImageConnection, 'edges'> & { edges: Array<ResolversParentTypes['ImageEdge']> };
  ImageEdge: Omit<ImageEdge, 'node'> & { node: ResolversParentTypes['Image'] };
  ImageFilter: ImageFilter;
  IngestImageInput: IngestImageInput;
  Int: Scalars['Int']['output'];
  JSON: Scalars['JSON']['output'];
  Job: JobRow;
  Modality: ModalityRow;
  Mutation: Record<PropertyKey, never>;
  Node: ResolversInterfaceTypes<ResolversParentTypes>['Node'];
  PageInfo: PageInfo;
  Query: Record<PropertyKey, never>;
  Slide: SlideRow;
  SlideConnection: Omit<SlideConnection, 'edges'> & { edges: Array<ResolversParentTypes['SlideEdge']> };
  SlideEdge: Omit<SlideEdge, 'node'> & { node: ResolversParentTypes['Slide'] };
  String: Scalars['String']['output'];
  UpdateSlideMetadataInput: UpdateSlideMetadataInput;
  Upload: Scalars['Upload']['output'];
}>;

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type DeleteImagePayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['DeleteImagePayload'] = ResolversParentTypes['DeleteImagePayload']> = ResolversObject<{
  deletedId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
}>;

export type ImageResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Image'] = ResolversParentTypes['Image']> = ResolversObject<{
  bitDepth?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  byteSize?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  channels?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  format?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  modality?: Resolver<ResolversTypes['Modality'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  slide?: Resolver<Maybe<ResolversTypes['Slide']>, ParentType, ContextType>;
  thumbnailUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType, RequireFields<ImageThumbnailUrlArgs, 'size'>>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type ImageConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ImageConnection'] = ResolversParentTypes['ImageConnection']> = ResolversObject<{
  edges?: Resolver<Array<ResolversTypes['ImageEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type ImageEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ImageEdge'] = ResolversParentTypes['ImageEdge']> = ResolversObject<{
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
}>;

export interface JsonScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['JSON'], any> {
  name: 'JSON';
}

export type JobResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Job'] = ResolversParentTypes['Job']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  done?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  progress?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  result?: Resolver<Maybe<ResolversTypes['JSON']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['JobState'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type ModalityResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Modality'] = ResolversParentTypes['Modality']> = ResolversObject<{
  channels?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  comirModel?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  imageCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  normalization?: Resolver<ResolversTypes['Normalization'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  _empty?: Resolver<Maybe<ResolversTypes['Boolean']>, ParentType, ContextType>;
  createModality?: Resolver<ResolversTypes['Modality'], ParentType, ContextType, RequireFields<MutationCreateModalityArgs, 'input'>>;
  createSlide?: Resolver<ResolversTypes['Slide'], ParentType, ContextType, RequireFields<MutationCreateSlideArgs, 'input'>>;
  deleteImage?: Resolver<ResolversTypes['DeleteImagePayload'], ParentType, ContextType, RequireFields<MutationDeleteImageArgs, 'id'>>;
  ingestImage?: Resolver<ResolversTypes['Image'], ParentType, ContextType, RequireFields<MutationIngestImageArgs, 'input'>>;
  updateSlideMetadata?: Resolver<ResolversTypes['Slide'], ParentType, ContextType, RequireFields<MutationUpdateSlideMetadataArgs, 'input'>>;
}>;

export type NodeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Node'] = ResolversParentTypes['Node']> = ResolversObject<{
  __resolveType: TypeResolveFn<'Image' | 'Job' | 'Modality' | 'Slide', ParentType, ContextType>;
}>;

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = ResolversObject<{
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
}>;

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType, RequireFields<QueryImageArgs, 'id'>>;
  images?: Resolver<ResolversTypes['ImageConnection'], ParentType, ContextType, RequireFields<QueryImagesArgs, 'first'>>;
  job?: Resolver<Maybe<ResolversTypes['Job']>, ParentType, ContextType, RequireFields<QueryJobArgs, 'id'>>;
  modalities?: Resolver<Array<ResolversTypes['Modality']>, ParentType, ContextType>;
  node?: Resolver<Maybe<ResolversTypes['Node']>, ParentType, ContextType, RequireFields<QueryNodeArgs, 'id'>>;
  slide?: Resolver<Maybe<ResolversTypes['Slide']>, ParentType, ContextType, RequireFields<QuerySlideArgs, 'id'>>;
  slides?: Resolver<ResolversTypes['SlideConnection'], ParentType, ContextType, RequireFields<QuerySlidesArgs, 'first'>>;
}>;

export type SlideResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Slide'] = ResolversParentTypes['Slide']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  images?: Resolver<ResolversTypes['ImageConnection'], ParentType, ContextType, RequireFields<SlideImagesArgs, 'first'>>;
  metadata?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type SlideConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SlideConnection'] = ResolversParentTypes['SlideConnection']> = ResolversObject<{
  edges?: Resolver<Array<ResolversTypes['SlideEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type SlideEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SlideEdge'] = ResolversParentTypes['SlideEdge']> = ResolversObject<{
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Slide'], ParentType, ContextType>;
}>;

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type Resolvers<ContextType = Context> = ResolversObject<{
  DateTime?: GraphQLScalarType;
  DeleteImagePayload?: DeleteImagePayloadResolvers<ContextType>;
  Image?: ImageResolvers<ContextType>;
  ImageConnection?: ImageConnectionResolvers<ContextType>;
  ImageEdge?: ImageEdgeResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  Job?: JobResolvers<ContextType>;
  Modality?: ModalityResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Node?: NodeResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Slide?: SlideResolvers<ContextType>;
  SlideConnection?: SlideConnectionResolvers<ContextType>;
  SlideEdge?: SlideEdgeResolvers<ContextType>;
  Upload?: GraphQLScalarType;
}>;

