import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { Image as ImageRow, Slide as SlideRow, Modality as ModalityRow, Job as JobRow, Link as LinkRow, AuditEvent as AuditEventRow, ApiKey as ApiKeyRow, ComirModel as ComirModelRow } from '../../db/generated/client.ts';
import type { LinkCounts as LinkCountsRow } from '../../db/link.repository.ts';
import type { CreatedKey } from '../../services/key.service.ts';
import type { VocabularyInfo } from '../../db/vocabulary.repository.ts';
import type { SearchMatch, SearchResult as SearchResultData } from '../../services/search.service.ts';
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

/** An API key, without its secret (only its SHA-256 is stored). */
export type ApiKey = {
  __typename?: 'ApiKey';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  lastUsedAt?: Maybe<Scalars['DateTime']['output']>;
  name: Scalars['String']['output'];
  /** The key's first characters, to tell keys apart. */
  prefix: Scalars['String']['output'];
  revokedAt?: Maybe<Scalars['DateTime']['output']>;
  role: Role;
};

export type BuildVocabularyInput = {
  modality: Scalars['String']['input'];
  /** Rotation-invariant (oriented) SURF instead of the reference's upright SURF. */
  oriented?: InputMaybe<Scalars['Boolean']['input']>;
  seed?: InputMaybe<Scalars['Int']['input']>;
  /** Words (default 20,000, the reference's size; capped at the descriptor count). */
  size?: InputMaybe<Scalars['Int']['input']>;
};

/** A registered CoMIR model pair. */
export type ComirModel = {
  __typename?: 'ComirModel';
  createdAt: Scalars['DateTime']['output'];
  dir: Scalars['String']['output'];
  name: Scalars['String']['output'];
  version: Scalars['String']['output'];
};

export type CreateApiKeyInput = {
  name: Scalars['String']['input'];
  role: Role;
};

export type CreateApiKeyPayload = {
  __typename?: 'CreateApiKeyPayload';
  key: ApiKey;
  /** The key itself: shown this once, never stored. Send it as `Authorization: Bearer <secret>`. */
  secret: Scalars['String']['output'];
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

/** How the first stage finds candidates (docs/adr/0011). */
export type FirstStage =
  /** Windows of the query's representation against every stored image's, by cosine in a pgvector HNSW index. */
  | 'VECTORS'
  /** The paper's dense SURF bag of words with tf-idf (needs a vocabulary). */
  | 'WORDS';

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
  /** Links from or to this image, newest first. */
  links: Array<Link>;
  /** Micrometres per full-resolution pixel: from the file's metadata (slides) or as declared at ingestion; null: unknown. */
  micronsPerPixel?: Maybe<Scalars['Float']['output']>;
  modality: Modality;
  name: Scalars['String']['output'];
  /** The value the file holds where it has no data (0-1 of full scale), as declared at ingestion; null: all data. */
  noDataValue?: Maybe<Scalars['Float']['output']>;
  sha256: Scalars['String']['output'];
  slide?: Maybe<Slide>;
  /**
   * The same PNG thumbnail inline, as a data: URL (longer side `size` px, 16 to 256), for lists that show many at once:
   * one request for a page of them instead of one per image (the dashboard's grid). Rendered and cached as thumbnailUrl's.
   */
  thumbnailDataUrl: Scalars['String']['output'];
  /** URL of a PNG thumbnail (longer side `size` px), served by this server. */
  thumbnailUrl: Scalars['String']['output'];
  /**
   * Deep-zoom tile source of the image (slides and small images alike): the URL of its IIIF Image API 3.0 info.json
   * (level 1), for viewers such as OpenSeadragon.
   */
  tileSource: Scalars['String']['output'];
  /** The pyramid and tiling of a whole-slide image; null for a plain image. */
  wholeSlide?: Maybe<WholeSlide>;
  width: Scalars['Int']['output'];
};


/** One acquisition: a stored file of one modality, optionally on a slide. */
export type ImageThumbnailDataUrlArgs = {
  size?: InputMaybe<Scalars['Int']['input']>;
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
  /** Images whose name contains this text (case-insensitive). */
  name?: InputMaybe<Scalars['String']['input']>;
  slide?: InputMaybe<Scalars['ID']['input']>;
  /** Images on a slide whose metadata holds every one of these key = value pairs. */
  slideMetadata?: InputMaybe<Array<MetadataMatch>>;
};

export type IngestImageInput = {
  /** The file, uploaded per the GraphQL multipart request spec. Exactly one of file and path. */
  file?: InputMaybe<Scalars['Upload']['input']>;
  /**
   * Micrometres per pixel. A whole-slide image (a tiled pyramidal TIFF) needs one: from its metadata (OME
   * PhysicalSizeX, SVS MPP, TIFF resolution), else this; when both are given they must agree within 5 %.
   */
  micronsPerPixel?: InputMaybe<Scalars['Float']['input']>;
  modality: Scalars['String']['input'];
  /** Defaults to the file name without its extension. */
  name?: InputMaybe<Scalars['String']['input']>;
  /**
   * The value the file holds where it has no data, in 0-1 of full scale (0 = black), as GDAL's NoData value: for
   * instance the black fill a registration's warp leaves around an image. Regions of it (5 x 5 px and larger, in every
   * channel) are left out of CORRELATE re-ranking when the image is a candidate. Unset: every pixel is data.
   */
  noDataValue?: InputMaybe<Scalars['Float']['input']>;
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
  /** Attempts begun (a queued job is retried with a backoff after a failed attempt, up to maxAttempts). */
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  done: Scalars['Int']['output'];
  /** Why the job FAILED; while a queued job waits for its next attempt (QUEUED, attempts > 0), why the last one failed. */
  error?: Maybe<Scalars['String']['output']>;
  finishedAt?: Maybe<Scalars['DateTime']['output']>;
  /** Last sign of life from the owner (written with progress and every 15 s). */
  heartbeatAt?: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /**
   * The image the job is about: for image.ingest the image it stored (null until it SUCCEEDED), for slide.tile the
   * slide's image; null for other kinds or when the image was deleted since.
   */
  image?: Maybe<Image>;
  kind: Scalars['String']['output'];
  /** The most attempts the job gets; FAILED with attempts = maxAttempts is the dead letter. */
  maxAttempts: Scalars['Int']['output'];
  /**
   * The process running the job (host:pid:tag). A job whose owner stopped is handed back to the queue (a queued job with
   * attempts left) or FAILED as interrupted.
   */
  owner?: Maybe<Scalars['String']['output']>;
  /** done / total in [0,1]; 0 while total is unknown. */
  progress: Scalars['Float']['output'];
  result?: Maybe<Scalars['JSON']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  state: JobState;
  total: Scalars['Int']['output'];
};

export type JobConnection = {
  __typename?: 'JobConnection';
  edges: Array<JobEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type JobEdge = {
  __typename?: 'JobEdge';
  cursor: Scalars['String']['output'];
  node: Job;
};

export type JobFilter = {
  /** vocabulary.build, index.rebuild, slide.tile or image.ingest. */
  kind?: InputMaybe<Scalars['String']['input']>;
  state?: InputMaybe<JobState>;
};

export type JobState =
  /** Cancelled before it ended (a queued job: docs/adr/0023). */
  | 'CANCELLED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

/** A correspondence: the source acquisition was taken from the target image (and its slide), there. */
export type Link = Node & {
  __typename?: 'Link';
  /** The reviewer's comment with the latest decision; null: none. */
  comment?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  /** The name of the API key (or `cli:<user>`) that proposed it; set by the server, never by the client. */
  createdBy?: Maybe<Scalars['String']['output']>;
  decidedAt?: Maybe<Scalars['DateTime']['output']>;
  /** The name of the API key (or `cli:<user>`) that made the latest decision. */
  decidedBy?: Maybe<Scalars['String']['output']>;
  /** Every change of this link from the audit trail, oldest first: its creation, then each decision. */
  history: Array<LinkEvent>;
  id: Scalars['ID']['output'];
  method: Scalars['String']['output'];
  /** The source's footprint in target pixels, as a polygon [[x, y], ...], clipped to the target image. */
  region?: Maybe<Scalars['JSON']['output']>;
  score?: Maybe<Scalars['Float']['output']>;
  source: Image;
  status: LinkStatus;
  target?: Maybe<Image>;
  targetSlide?: Maybe<Slide>;
  /** 2x3 affine, row-major, mapping source pixels to target pixels. */
  transform: Array<Scalars['Float']['output']>;
};

/**
 * Linking is idempotent per (source, target, region): when that link exists it is returned as it is, whatever its
 * status, and nothing new is stored (docs/adr/0017).
 */
export type LinkAcquisitionInput = {
  /** How the link was found, e.g. "search:fast" or "manual". */
  method?: InputMaybe<Scalars['String']['input']>;
  /** Where the source lies in the target (e.g. a match's region); the stored region is clipped to the target image. */
  region?: InputMaybe<RegionInput>;
  score?: InputMaybe<Scalars['Float']['input']>;
  source: Scalars['ID']['input'];
  target: Scalars['ID']['input'];
  /** 2x3 affine source -> target; derived from the region when absent. */
  transform?: InputMaybe<Array<Scalars['Float']['input']>>;
};

export type LinkConnection = {
  __typename?: 'LinkConnection';
  edges: Array<LinkEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** How many links are in each status. */
export type LinkCounts = {
  __typename?: 'LinkCounts';
  confirmed: Scalars['Int']['output'];
  proposed: Scalars['Int']['output'];
  rejected: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
};

export type LinkEdge = {
  __typename?: 'LinkEdge';
  cursor: Scalars['String']['output'];
  node: Link;
};

/** One change of a link, as the append-only audit trail recorded it (docs/adr/0014). */
export type LinkEvent = {
  __typename?: 'LinkEvent';
  /** The mutation: linkAcquisition or setLinkStatus. */
  action: Scalars['String']['output'];
  /** Who: the API key's name, or `cli:<user>` for the command line. */
  actor: Scalars['String']['output'];
  at: Scalars['DateTime']['output'];
  /** The status before the change; null for the creation. */
  fromStatus?: Maybe<LinkStatus>;
  toStatus: LinkStatus;
};

/** Every filter given must hold (AND); none: every link. */
export type LinkFilter = {
  /** Links created after this instant. */
  createdAfter?: InputMaybe<Scalars['DateTime']['input']>;
  /** Links whose target lies on this slide. */
  slide?: InputMaybe<Scalars['ID']['input']>;
  /** The source image's modality (case-insensitive); an unknown name matches no link. */
  sourceModality?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<LinkStatus>;
  /** The target image's modality (case-insensitive); an unknown name matches no link. */
  targetModality?: InputMaybe<Scalars['String']['input']>;
};

export type LinkStatus =
  | 'CONFIRMED'
  | 'PROPOSED'
  | 'REJECTED';

/** One ranked answer: which image, how well, and where in it. */
export type Match = {
  __typename?: 'Match';
  /**
   * How likely this match is the right one, 0..1: its score's lead over the best other match, calibrated on the
   * benchmarks per model pair (docs/adr/0012). Link a top-1 without review only at or above
   * SearchResult.confidenceThreshold; flag the rest.
   */
  confidence: Scalars['Float']['output'];
  /** The query's corners in the image (re-ranked matches only). */
  footprint?: Maybe<Array<Point>>;
  /** The footprint in micrometres from the image's corner, when the image has a pixel size (slides always do). */
  footprintMicrons?: Maybe<Array<Point>>;
  image: Image;
  /** Valid query words the match shares. */
  nWords: Scalars['Int']['output'];
  rank: Scalars['Int']['output'];
  /** Where the query lies in the image: bounding box (NONE: the first stage's best window). */
  region?: Maybe<Region>;
  /**
   * The ranking score, by re-ranking mode: the first stage's (NONE: with vectors, the mean cosine of the 8 query vectors
   * that agree best on the image, docs/adr/0021; with words, tf-idf cosine), the best window's cosine (FAST, PAPER), the z-score of
   * the winning vote (VERIFY), the peak normalised cross-correlation in [-1, 1] (CORRELATE; with structure, the
   * weighted mean of the CoMIR's and the structure's peaks).
   */
  score: Scalars['Float']['output'];
  /** 2x3 affine, row-major, query pixels -> image pixels (re-ranked matches only); pass it to linkAcquisition. */
  transform?: Maybe<Array<Scalars['Float']['output']>>;
};

/**
 * One key of a slide's metadata and its value, written as text: matches a string value equal to it, or a number or
 * boolean value that reads as it ("age" = "54" matches 54 and "54"; "fixed" = "true" matches true).
 */
export type MetadataMatch = {
  key: Scalars['String']['input'];
  value: Scalars['String']['input'];
};

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
  /** Builds a vocabulary and re-quantises the modality's images in a Job (poll `job(id)`). */
  buildVocabulary: Job;
  /**
   * Cancels a queued job (admin): one that waits ends CANCELLED at once; a running one stops at its next progress report
   * and ends CANCELLED (poll `job(id)` or watch `jobUpdated`). A job that has ended is returned as it is.
   */
  cancelJob: Job;
  /** Creates an API key (admin); its secret is in the answer, and nowhere else. */
  createApiKey: CreateApiKeyPayload;
  createModality: Modality;
  createSlide: Slide;
  deleteImage: DeleteImagePayload;
  /**
   * Ingests an image and answers with it once it is stored and indexed. On a Postgres server the decoding, CoMIR and
   * vectors run as an `image.ingest` job on a worker while this request waits (at most 5 minutes, then SERVER_BUSY with
   * the job's id in `extensions.job`); on the embedded database in this process.
   */
  ingestImage: Image;
  linkAcquisition: Link;
  /**
   * Queues an image's ingestion and answers at once with its job (docs/adr/0027): the file is checked (header, size,
   * duplicate) and stored, then a worker decodes and indexes it (`image.ingest`: retried, cancellable with cancelJob;
   * FAILED with the error's code in `result.error` for a file it refuses). Follow it with `job(id)` or `jobUpdated`;
   * `Job.image` is the image once it SUCCEEDED. A whole-slide file on the server (path) answers with its tiling job.
   * The same file queued again while its job is unfinished answers with that job.
   */
  queueImageIngestion: Job;
  /** Validates a model folder against its manifest (sha256, channels) and maps its networks to modalities. */
  registerModel: Array<Modality>;
  /**
   * Brings the vector first stage up to date in a Job (poll `job(id)`): every image of the modality (of every modality
   * when none is given) without vectors in its current representation space gets them, one image per transaction, so a
   * job killed midway leaves no image half-indexed and the next reindex goes on from there. Ingestion indexes new images
   * itself; this is for an existing database, a new model version or a new descriptor version (docs/adr/0011).
   */
  reindex: Job;
  /** Revokes a key (admin): every later request with it is UNAUTHENTICATED. */
  revokeApiKey: ApiKey;
  setLinkStatus: Link;
  updateSlideMetadata: Slide;
};


export type MutationBuildVocabularyArgs = {
  input: BuildVocabularyInput;
};


export type MutationCancelJobArgs = {
  id: Scalars['ID']['input'];
};


export type MutationCreateApiKeyArgs = {
  input: CreateApiKeyInput;
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


export type MutationLinkAcquisitionArgs = {
  input: LinkAcquisitionInput;
};


export type MutationQueueImageIngestionArgs = {
  input: IngestImageInput;
};


export type MutationRegisterModelArgs = {
  input: RegisterModelInput;
};


export type MutationReindexArgs = {
  input?: InputMaybe<ReindexInput>;
};


export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetLinkStatusArgs = {
  input: SetLinkStatusInput;
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
  /** The eosin channel of a colour H&E image (colour deconvolution, Ruifrok & Johnston 2001); grey images are refused. */
  | 'EOSIN'
  | 'LINEAR'
  /** log(1+x), as the reference applies to SHG. */
  | 'LOG1P'
  /** The image's 1st..99th percentiles stretched to 0..1 (exposure and staining vary between acquisitions). */
  | 'PERCENTILE';

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor?: Maybe<Scalars['String']['output']>;
};

/** A point in image pixels. */
export type Point = {
  __typename?: 'Point';
  x: Scalars['Float']['output'];
  y: Scalars['Float']['output'];
};

export type PyramidLevel = {
  __typename?: 'PyramidLevel';
  /** Full-resolution pixels per pixel of this level. */
  downsample: Scalars['Float']['output'];
  height: Scalars['Int']['output'];
  width: Scalars['Int']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** Every API key, oldest first (admin). */
  apiKeys: Array<ApiKey>;
  image?: Maybe<Image>;
  images: ImageConnection;
  job?: Maybe<Job>;
  /** Jobs matching the filter, oldest first. A job whose process stopped is FAILED here, as in `job(id)`. */
  jobs: JobConnection;
  /** How many links there are in each status (per slide: `Slide.linkCounts`). */
  linkCounts: LinkCounts;
  /** Links matching the filter, oldest first: e.g. the review queue, `links(filter: { status: PROPOSED })`. */
  links: LinkConnection;
  modalities: Array<Modality>;
  models: Array<ComirModel>;
  /** Fetches any object by its global id. */
  node?: Maybe<Node>;
  /** Where did this image come from? Ranks the target modality's images, best first. */
  search: SearchResult;
  slide?: Maybe<Slide>;
  slides: SlideConnection;
  vocabularies: Array<Vocabulary>;
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


export type QueryJobsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<JobFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryLinksArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<LinkFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryNodeArgs = {
  id: Scalars['ID']['input'];
};


export type QuerySearchArgs = {
  input: SearchInput;
};


export type QuerySlideArgs = {
  id: Scalars['ID']['input'];
};


export type QuerySlidesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<SlideFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryVocabulariesArgs = {
  modality?: InputMaybe<Scalars['String']['input']>;
};

/** Axis-aligned rectangle in image pixels (x, y = top-left corner). */
export type Region = {
  __typename?: 'Region';
  height: Scalars['Int']['output'];
  width: Scalars['Int']['output'];
  x: Scalars['Int']['output'];
  y: Scalars['Int']['output'];
};

export type RegionInput = {
  height: Scalars['Int']['input'];
  width: Scalars['Int']['input'];
  x: Scalars['Int']['input'];
  y: Scalars['Int']['input'];
};

export type RegisterModelInput = {
  /** A model folder on the server, inside the models folder or CMIR_INGEST_ROOTS. */
  dir: Scalars['String']['input'];
  /** Network -> modality, e.g. { shg: "SHG" }, or -> a list of modalities that share the network, e.g. { other: ["CT", "PET"] }; default: the network's name in upper case. */
  mapping?: InputMaybe<Scalars['JSON']['input']>;
};

export type ReindexInput = {
  /** Only this modality (default: every modality). */
  modality?: InputMaybe<Scalars['String']['input']>;
};

export type RerankInput = {
  /**
   * CORRELATE only: the query may be rotated up to this many degrees either way against the image (0-180; swept in
   * 5-degree steps). Default: the target's CoMIR pair's `search.max_rotation`, else 30 (the benchmark protocol's range).
   */
  maxRotation?: InputMaybe<Scalars['Float']['input']>;
  mode?: InputMaybe<RerankMode>;
  /**
   * CORRELATE only: how many of the best candidates are correlated again at twice the resolution, near the pose each
   * was found at, and re-ordered by that (0-200; 0 = none). Helps small queries, which meet the candidates' size limit
   * first (a 30 % crop of a 1024 px photograph is otherwise compared on 38 x 25 px). Default: the target's CoMIR pair's
   * `search.refine` (the shipped vis-nir and shg-bf: 20), else 0.
   */
  refine?: InputMaybe<Scalars['Int']['input']>;
  /**
   * CORRELATE only: the query's scale may differ from the image's by up to this fraction (0-0.5; swept in 8 % steps,
   * each step costs as much as the whole rotation sweep). Default: the target's CoMIR pair's `search.scale_tolerance`
   * (the shipped vis-nir: 0.1, its cameras' fields of view differ), else 0 (one pixel size, as shg-bf).
   */
  scaleTolerance?: InputMaybe<Scalars['Float']['input']>;
  /**
   * CORRELATE only: the weight (0-1) of structure in the score, beside the CoMIR's (1 - weight). Structure is the
   * gradient magnitude of the images' own grey pixels, correlated the same way: it helps where the two modalities share
   * edges (photographs in two bands), not where one shows what the other does not (SHG and H&E). Twice the time when
   * above 0. Default: the target's CoMIR pair's `search.structure_weight` (the shipped vis-nir: 0.5), else 0.
   */
  structureWeight?: InputMaybe<Scalars['Float']['input']>;
  /**
   * How many first-stage candidates are re-ranked (1-200), exactly. Default 30 (the reference re-ranks 15 or 30), and
   * 200 for CORRELATE after a modality without a learned window descriptor (its first stage's recall at 30 is too low:
   * docs/adr/0012, 0015). Unset, CORRELATE runs as a cascade (docs/adr/0016): the first stage's best 8 first, the rest
   * of the 30 only when none of them leads by what the confidence threshold trusts; a search that stopped returns 8.
   */
  topK?: InputMaybe<Scalars['Int']['input']>;
};

export type RerankMode =
  /**
   * The best measured for the search at hand (the default): CORRELATE when the query's modality differs from the
   * target's (searching across a CoMIR pair), VERIFY within one modality. bench/results/ has the measurements.
   */
  | 'AUTO'
  /**
   * Dense correlation: the query's representation is compared pixel by pixel with each candidate's at a coarse scale
   * (longer side ~64 px), over rotations of -30..30 degrees and every translation (masked normalised
   * cross-correlation); returns the rotated footprint and the transform. Works where the two modalities' CoMIRs agree in
   * their large-scale structure but not in SURF words (whole images across modalities).
   */
  | 'CORRELATE'
  /** Re-score query-sized windows of the top-K candidates from their stored word maps; returns where it matched. */
  | 'FAST'
  /** First-stage ranking only (tf-idf cosine, reference scoring). */
  | 'NONE'
  /** The reference's re-ranking: a new vocabulary on query-sized patches of the top-K per query. Slow by design. */
  | 'PAPER'
  /**
   * Spatial verification: the query at rotations of -30..30 degrees votes with its words for the translation that aligns
   * it with each candidate's stored word map; returns the rotated footprint and the transform.
   */
  | 'VERIFY';

/** What an API key may do; each role includes the ones before it (docs/adr/0014). */
export type Role =
  /** Models, modalities, vocabularies, reindexing, keys, deleting images. */
  | 'ADMIN'
  /** Ingestion, slides, links and their review. */
  | 'CURATOR'
  /** Every query (search included). */
  | 'READER';

export type SearchInput = {
  /** The query image as an upload. Exactly one of file and imageId. */
  file?: InputMaybe<Scalars['Upload']['input']>;
  /** Number of matches (k). */
  first?: InputMaybe<Scalars['Int']['input']>;
  /** A stored image as the query. */
  imageId?: InputMaybe<Scalars['ID']['input']>;
  /**
   * The query's pixel size in micrometres (a stored query's own by default). The query is then resampled to the model's
   * working resolution, at which whole-slide images are tiled; without it the query is taken to be at that resolution.
   * A modality whose model has no working resolution (or no model) compares pixels as they are and ignores it.
   */
  micronsPerPixel?: InputMaybe<Scalars['Float']['input']>;
  /** Modality of the query (taken from the stored image when imageId is given). */
  modality?: InputMaybe<Scalars['String']['input']>;
  /**
   * The value the query image holds where it has no data, in 0-1 of full scale (0 = black), as GDAL's NoData value: for
   * instance the black fill a registration's warp leaves around an image. Regions of it (5 x 5 px and larger, in every
   * channel) are left out of CORRELATE re-ranking, so the fill is not matched against tissue or scene. Unset: every
   * pixel is data.
   */
  noDataValue?: InputMaybe<Scalars['Float']['input']>;
  rerank?: InputMaybe<RerankInput>;
  /** Modality of the repository to search. */
  target: Scalars['String']['input'];
};

export type SearchResult = {
  __typename?: 'SearchResult';
  /** The confidence at or above which top-1 answers were right at least 98 % of the time on the benchmarks. */
  confidenceThreshold: Scalars['Float']['output'];
  /**
   * The first stage that ran: VECTORS (windows of the representation in pgvector, the default) or WORDS (the paper's
   * bag of words, for PAPER, FAST and VERIFY).
   */
  firstStage: FirstStage;
  matches: Array<Match>;
  /** The re-ranking that ran (AUTO resolved). */
  rerank: RerankMode;
  timings: SearchTimings;
  /** The vocabulary of a WORDS first stage; null for VECTORS. */
  vocabulary?: Maybe<Vocabulary>;
};

/** Milliseconds per stage. */
export type SearchTimings = {
  __typename?: 'SearchTimings';
  decode: Scalars['Float']['output'];
  features: Scalars['Float']['output'];
  firstStage: Scalars['Float']['output'];
  representation: Scalars['Float']['output'];
  rerank: Scalars['Float']['output'];
  total: Scalars['Float']['output'];
};

export type SetLinkStatusInput = {
  /** A comment kept with this decision (at most 2,000 characters); omitted or blank: the decision has none. */
  comment?: InputMaybe<Scalars['String']['input']>;
  id: Scalars['ID']['input'];
  status: LinkStatus;
};

/** A physical specimen or tissue section; acquisitions of several modalities belong to it. */
export type Slide = Node & {
  __typename?: 'Slide';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  images: ImageConnection;
  /** How many links onto this slide are in each status. */
  linkCounts: LinkCounts;
  /** Links whose target lies on this slide, newest first. */
  links: Array<Link>;
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

export type SlideFilter = {
  /** Slides whose metadata holds every one of these key = value pairs. */
  metadata?: InputMaybe<Array<MetadataMatch>>;
  /** Slides whose name contains this text (case-insensitive). */
  name?: InputMaybe<Scalars['String']['input']>;
};

/** Pushed over WebSocket (graphql-ws, at /graphql); queries and mutations go over HTTP. */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * A job as it changes: now, then at each progress write (at most 4 a second) and state change, ending after it
   * finishes. Without id: every job whose row changes. On a Postgres server this includes jobs that other processes
   * (other servers, `cmir worker`) run: each runner announces its writes over LISTEN/NOTIFY (docs/adr/0027). Polling
   * `job(id)` works too: every runner writes its row (progress at most 4 times a second, a heartbeat every 15 s).
   */
  jobUpdated: Job;
  /** Each new link (not one asked for again), as it is stored; with a filter, only those that match it. */
  linkCreated: Link;
};


/** Pushed over WebSocket (graphql-ws, at /graphql); queries and mutations go over HTTP. */
export type SubscriptionJobUpdatedArgs = {
  id?: InputMaybe<Scalars['ID']['input']>;
};


/** Pushed over WebSocket (graphql-ws, at /graphql); queries and mutations go over HTTP. */
export type SubscriptionLinkCreatedArgs = {
  filter?: InputMaybe<LinkFilter>;
};

export type TilingState =
  | 'DONE'
  | 'FAILED'
  | 'PENDING';

export type UpdateSlideMetadataInput = {
  id: Scalars['ID']['input'];
  /** true: merge keys into the existing metadata (null deletes a key); false: replace it. */
  merge?: InputMaybe<Scalars['Boolean']['input']>;
  metadata: Scalars['JSON']['input'];
};

/** A visual vocabulary of a modality's representation space; its id is its version. */
export type Vocabulary = Node & {
  __typename?: 'Vocabulary';
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  modality: Scalars['String']['output'];
  params: Scalars['JSON']['output'];
  representation: Scalars['String']['output'];
  size: Scalars['Int']['output'];
  /** building, indexing, ready or failed. */
  state: Scalars['String']['output'];
};

/** A whole-slide image: a pyramidal tiled TIFF stored as it is, searched by tiles of its tissue. */
export type WholeSlide = {
  __typename?: 'WholeSlide';
  /** TIFF compression of the full-resolution level, e.g. jpeg, lzw. */
  compression: Scalars['String']['output'];
  levels: Array<PyramidLevel>;
  /** Where the pixel size came from: OME, SVS, TIFF_RESOLUTION, or DECLARED at ingestion. */
  pixelSizeSource: Scalars['String']['output'];
  /** Tissue tiles stored so far. */
  tiles: Scalars['Int']['output'];
  tilingError?: Maybe<Scalars['String']['output']>;
  /** PENDING until every tissue tile has its CoMIR and first-stage vectors (a job), then DONE; FAILED with tilingError. */
  tilingState: TilingState;
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
    | ( LinkRow )
    | ( ModalityRow )
    | ( SlideRow )
    | ( VocabularyInfo )
  ;
}>;

/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  ApiKey: ResolverTypeWrapper<ApiKeyRow>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  BuildVocabularyInput: BuildVocabularyInput;
  ComirModel: ResolverTypeWrapper<ComirModelRow>;
  CreateApiKeyInput: CreateApiKeyInput;
  CreateApiKeyPayload: ResolverTypeWrapper<CreatedKey>;
  CreateModalityInput: CreateModalityInput;
  CreateSlideInput: CreateSlideInput;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  DeleteImagePayload: ResolverTypeWrapper<DeleteImagePayload>;
  FirstStage: FirstStage;
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
  JobConnection: ResolverTypeWrapper<Omit<JobConnection, 'edges'> & { edges: Array<ResolversTypes['JobEdge']> }>;
  JobEdge: ResolverTypeWrapper<Omit<JobEdge, 'node'> & { node: ResolversTypes['Job'] }>;
  JobFilter: JobFilter;
  JobState: JobState;
  Link: ResolverTypeWrapper<LinkRow>;
  LinkAcquisitionInput: LinkAcquisitionInput;
  LinkConnection: ResolverTypeWrapper<Omit<LinkConnection, 'edges'> & { edges: Array<ResolversTypes['LinkEdge']> }>;
  LinkCounts: ResolverTypeWrapper<LinkCountsRow>;
  LinkEdge: ResolverTypeWrapper<Omit<LinkEdge, 'node'> & { node: ResolversTypes['Link'] }>;
  LinkEvent: ResolverTypeWrapper<AuditEventRow>;
  LinkFilter: LinkFilter;
  LinkStatus: LinkStatus;
  Match: ResolverTypeWrapper<SearchMatch>;
  MetadataMatch: MetadataMatch;
  Modality: ResolverTypeWrapper<ModalityRow>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Node: ResolverTypeWrapper<ResolversInterfaceTypes<ResolversTypes>['Node']>;
  Normalization: Normalization;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  Point: ResolverTypeWrapper<Point>;
  PyramidLevel: ResolverTypeWrapper<PyramidLevel>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Region: ResolverTypeWrapper<Region>;
  RegionInput: RegionInput;
  RegisterModelInput: RegisterModelInput;
  ReindexInput: ReindexInput;
  RerankInput: RerankInput;
  RerankMode: RerankMode;
  Role: Role;
  SearchInput: SearchInput;
  SearchResult: ResolverTypeWrapper<SearchResultData>;
  SearchTimings: ResolverTypeWrapper<SearchTimings>;
  SetLinkStatusInput: SetLinkStatusInput;
  Slide: ResolverTypeWrapper<SlideRow>;
  SlideConnection: ResolverTypeWrapper<Omit<SlideConnection, 'edges'> & { edges: Array<ResolversTypes['SlideEdge']> }>;
  SlideEdge: ResolverTypeWrapper<Omit<SlideEdge, 'node'> & { node: ResolversTypes['Slide'] }>;
  SlideFilter: SlideFilter;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  TilingState: TilingState;
  UpdateSlideMetadataInput: UpdateSlideMetadataInput;
  Upload: ResolverTypeWrapper<Scalars['Upload']['output']>;
  Vocabulary: ResolverTypeWrapper<VocabularyInfo>;
  WholeSlide: ResolverTypeWrapper<WholeSlide>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  ApiKey: ApiKeyRow;
  Boolean: Scalars['Boolean']['output'];
  BuildVocabularyInput: BuildVocabularyInput;
  ComirModel: ComirModelRow;
  CreateApiKeyInput: CreateApiKeyInput;
  CreateApiKeyPayload: CreatedKey;
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
  JobConnection: Omit<JobConnection, 'edges'> & { edges: Array<ResolversParentTypes['JobEdge']> };
  JobEdge: Omit<JobEdge, 'node'> & { node: ResolversParentTypes['Job'] };
  JobFilter: JobFilter;
  Link: LinkRow;
  LinkAcquisitionInput: LinkAcquisitionInput;
  LinkConnection: Omit<LinkConnection, 'edges'> & { edges: Array<ResolversParentTypes['LinkEdge']> };
  LinkCounts: LinkCountsRow;
  LinkEdge: Omit<LinkEdge, 'node'> & { node: ResolversParentTypes['Link'] };
  LinkEvent: AuditEventRow;
  LinkFilter: LinkFilter;
  Match: SearchMatch;
  MetadataMatch: MetadataMatch;
  Modality: ModalityRow;
  Mutation: Record<PropertyKey, never>;
  Node: ResolversInterfaceTypes<ResolversParentTypes>['Node'];
  PageInfo: PageInfo;
  Point: Point;
  PyramidLevel: PyramidLevel;
  Query: Record<PropertyKey, never>;
  Region: Region;
  RegionInput: RegionInput;
  RegisterModelInput: RegisterModelInput;
  ReindexInput: ReindexInput;
  RerankInput: RerankInput;
  SearchInput: SearchInput;
  SearchResult: SearchResultData;
  SearchTimings: SearchTimings;
  SetLinkStatusInput: SetLinkStatusInput;
  Slide: SlideRow;
  SlideConnection: Omit<SlideConnection, 'edges'> & { edges: Array<ResolversParentTypes['SlideEdge']> };
  SlideEdge: Omit<SlideEdge, 'node'> & { node: ResolversParentTypes['Slide'] };
  SlideFilter: SlideFilter;
  String: Scalars['String']['output'];
  Subscription: Record<PropertyKey, never>;
  UpdateSlideMetadataInput: UpdateSlideMetadataInput;
  Upload: Scalars['Upload']['output'];
  Vocabulary: VocabularyInfo;
  WholeSlide: WholeSlide;
}>;

export type ApiKeyResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ApiKey'] = ResolversParentTypes['ApiKey']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  lastUsedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  prefix?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  revokedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  role?: Resolver<ResolversTypes['Role'], ParentType, ContextType>;
}>;

export type ComirModelResolvers<ContextType = Context, ParentType extends ResolversParentTypes['ComirModel'] = ResolversParentTypes['ComirModel']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  dir?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  version?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type CreateApiKeyPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['CreateApiKeyPayload'] = ResolversParentTypes['CreateApiKeyPayload']> = ResolversObject<{
  key?: Resolver<ResolversTypes['ApiKey'], ParentType, ContextType>;
  secret?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
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
  links?: Resolver<Array<ResolversTypes['Link']>, ParentType, ContextType>;
  micronsPerPixel?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  modality?: Resolver<ResolversTypes['Modality'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  noDataValue?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  sha256?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  slide?: Resolver<Maybe<ResolversTypes['Slide']>, ParentType, ContextType>;
  thumbnailDataUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType, RequireFields<ImageThumbnailDataUrlArgs, 'size'>>;
  thumbnailUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType, RequireFields<ImageThumbnailUrlArgs, 'size'>>;
  tileSource?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  wholeSlide?: Resolver<Maybe<ResolversTypes['WholeSlide']>, ParentType, ContextType>;
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
  attempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  done?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  error?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  finishedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  heartbeatAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType>;
  kind?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  maxAttempts?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  owner?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  progress?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  result?: Resolver<Maybe<ResolversTypes['JSON']>, ParentType, ContextType>;
  startedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  state?: Resolver<ResolversTypes['JobState'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type JobConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['JobConnection'] = ResolversParentTypes['JobConnection']> = ResolversObject<{
  edges?: Resolver<Array<ResolversTypes['JobEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type JobEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['JobEdge'] = ResolversParentTypes['JobEdge']> = ResolversObject<{
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Job'], ParentType, ContextType>;
}>;

export type LinkResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Link'] = ResolversParentTypes['Link']> = ResolversObject<{
  comment?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  createdBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  decidedAt?: Resolver<Maybe<ResolversTypes['DateTime']>, ParentType, ContextType>;
  decidedBy?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  history?: Resolver<Array<ResolversTypes['LinkEvent']>, ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  method?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['JSON']>, ParentType, ContextType>;
  score?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
  source?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['LinkStatus'], ParentType, ContextType>;
  target?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType>;
  targetSlide?: Resolver<Maybe<ResolversTypes['Slide']>, ParentType, ContextType>;
  transform?: Resolver<Array<ResolversTypes['Float']>, ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type LinkConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkConnection'] = ResolversParentTypes['LinkConnection']> = ResolversObject<{
  edges?: Resolver<Array<ResolversTypes['LinkEdge']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
  totalCount?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type LinkCountsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkCounts'] = ResolversParentTypes['LinkCounts']> = ResolversObject<{
  confirmed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  proposed?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  rejected?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type LinkEdgeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkEdge'] = ResolversParentTypes['LinkEdge']> = ResolversObject<{
  cursor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  node?: Resolver<ResolversTypes['Link'], ParentType, ContextType>;
}>;

export type LinkEventResolvers<ContextType = Context, ParentType extends ResolversParentTypes['LinkEvent'] = ResolversParentTypes['LinkEvent']> = ResolversObject<{
  action?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  actor?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  at?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  fromStatus?: Resolver<Maybe<ResolversTypes['LinkStatus']>, ParentType, ContextType>;
  toStatus?: Resolver<ResolversTypes['LinkStatus'], ParentType, ContextType>;
}>;

export type MatchResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Match'] = ResolversParentTypes['Match']> = ResolversObject<{
  confidence?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  footprint?: Resolver<Maybe<Array<ResolversTypes['Point']>>, ParentType, ContextType>;
  footprintMicrons?: Resolver<Maybe<Array<ResolversTypes['Point']>>, ParentType, ContextType>;
  image?: Resolver<ResolversTypes['Image'], ParentType, ContextType>;
  nWords?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  rank?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  region?: Resolver<Maybe<ResolversTypes['Region']>, ParentType, ContextType>;
  score?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  transform?: Resolver<Maybe<Array<ResolversTypes['Float']>>, ParentType, ContextType>;
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
  buildVocabulary?: Resolver<ResolversTypes['Job'], ParentType, ContextType, RequireFields<MutationBuildVocabularyArgs, 'input'>>;
  cancelJob?: Resolver<ResolversTypes['Job'], ParentType, ContextType, RequireFields<MutationCancelJobArgs, 'id'>>;
  createApiKey?: Resolver<ResolversTypes['CreateApiKeyPayload'], ParentType, ContextType, RequireFields<MutationCreateApiKeyArgs, 'input'>>;
  createModality?: Resolver<ResolversTypes['Modality'], ParentType, ContextType, RequireFields<MutationCreateModalityArgs, 'input'>>;
  createSlide?: Resolver<ResolversTypes['Slide'], ParentType, ContextType, RequireFields<MutationCreateSlideArgs, 'input'>>;
  deleteImage?: Resolver<ResolversTypes['DeleteImagePayload'], ParentType, ContextType, RequireFields<MutationDeleteImageArgs, 'id'>>;
  ingestImage?: Resolver<ResolversTypes['Image'], ParentType, ContextType, RequireFields<MutationIngestImageArgs, 'input'>>;
  linkAcquisition?: Resolver<ResolversTypes['Link'], ParentType, ContextType, RequireFields<MutationLinkAcquisitionArgs, 'input'>>;
  queueImageIngestion?: Resolver<ResolversTypes['Job'], ParentType, ContextType, RequireFields<MutationQueueImageIngestionArgs, 'input'>>;
  registerModel?: Resolver<Array<ResolversTypes['Modality']>, ParentType, ContextType, RequireFields<MutationRegisterModelArgs, 'input'>>;
  reindex?: Resolver<ResolversTypes['Job'], ParentType, ContextType, Partial<MutationReindexArgs>>;
  revokeApiKey?: Resolver<ResolversTypes['ApiKey'], ParentType, ContextType, RequireFields<MutationRevokeApiKeyArgs, 'id'>>;
  setLinkStatus?: Resolver<ResolversTypes['Link'], ParentType, ContextType, RequireFields<MutationSetLinkStatusArgs, 'input'>>;
  updateSlideMetadata?: Resolver<ResolversTypes['Slide'], ParentType, ContextType, RequireFields<MutationUpdateSlideMetadataArgs, 'input'>>;
}>;

export type NodeResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Node'] = ResolversParentTypes['Node']> = ResolversObject<{
  __resolveType: TypeResolveFn<'Image' | 'Job' | 'Link' | 'Modality' | 'Slide' | 'Vocabulary', ParentType, ContextType>;
}>;

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = ResolversObject<{
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  hasPreviousPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
  startCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
}>;

export type PointResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Point'] = ResolversParentTypes['Point']> = ResolversObject<{
  x?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  y?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type PyramidLevelResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PyramidLevel'] = ResolversParentTypes['PyramidLevel']> = ResolversObject<{
  downsample?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  apiKeys?: Resolver<Array<ResolversTypes['ApiKey']>, ParentType, ContextType>;
  image?: Resolver<Maybe<ResolversTypes['Image']>, ParentType, ContextType, RequireFields<QueryImageArgs, 'id'>>;
  images?: Resolver<ResolversTypes['ImageConnection'], ParentType, ContextType, RequireFields<QueryImagesArgs, 'first'>>;
  job?: Resolver<Maybe<ResolversTypes['Job']>, ParentType, ContextType, RequireFields<QueryJobArgs, 'id'>>;
  jobs?: Resolver<ResolversTypes['JobConnection'], ParentType, ContextType, RequireFields<QueryJobsArgs, 'first'>>;
  linkCounts?: Resolver<ResolversTypes['LinkCounts'], ParentType, ContextType>;
  links?: Resolver<ResolversTypes['LinkConnection'], ParentType, ContextType, RequireFields<QueryLinksArgs, 'first'>>;
  modalities?: Resolver<Array<ResolversTypes['Modality']>, ParentType, ContextType>;
  models?: Resolver<Array<ResolversTypes['ComirModel']>, ParentType, ContextType>;
  node?: Resolver<Maybe<ResolversTypes['Node']>, ParentType, ContextType, RequireFields<QueryNodeArgs, 'id'>>;
  search?: Resolver<ResolversTypes['SearchResult'], ParentType, ContextType, RequireFields<QuerySearchArgs, 'input'>>;
  slide?: Resolver<Maybe<ResolversTypes['Slide']>, ParentType, ContextType, RequireFields<QuerySlideArgs, 'id'>>;
  slides?: Resolver<ResolversTypes['SlideConnection'], ParentType, ContextType, RequireFields<QuerySlidesArgs, 'first'>>;
  vocabularies?: Resolver<Array<ResolversTypes['Vocabulary']>, ParentType, ContextType, Partial<QueryVocabulariesArgs>>;
}>;

export type RegionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Region'] = ResolversParentTypes['Region']> = ResolversObject<{
  height?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  width?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  x?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  y?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
}>;

export type SearchResultResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SearchResult'] = ResolversParentTypes['SearchResult']> = ResolversObject<{
  confidenceThreshold?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  firstStage?: Resolver<ResolversTypes['FirstStage'], ParentType, ContextType>;
  matches?: Resolver<Array<ResolversTypes['Match']>, ParentType, ContextType>;
  rerank?: Resolver<ResolversTypes['RerankMode'], ParentType, ContextType>;
  timings?: Resolver<ResolversTypes['SearchTimings'], ParentType, ContextType>;
  vocabulary?: Resolver<Maybe<ResolversTypes['Vocabulary']>, ParentType, ContextType>;
}>;

export type SearchTimingsResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SearchTimings'] = ResolversParentTypes['SearchTimings']> = ResolversObject<{
  decode?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  features?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  firstStage?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  representation?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  rerank?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
  total?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type SlideResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Slide'] = ResolversParentTypes['Slide']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  images?: Resolver<ResolversTypes['ImageConnection'], ParentType, ContextType, RequireFields<SlideImagesArgs, 'first'>>;
  linkCounts?: Resolver<ResolversTypes['LinkCounts'], ParentType, ContextType>;
  links?: Resolver<Array<ResolversTypes['Link']>, ParentType, ContextType>;
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

export type SubscriptionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = ResolversObject<{
  jobUpdated?: SubscriptionResolver<ResolversTypes['Job'], "jobUpdated", ParentType, ContextType, Partial<SubscriptionJobUpdatedArgs>>;
  linkCreated?: SubscriptionResolver<ResolversTypes['Link'], "linkCreated", ParentType, ContextType, Partial<SubscriptionLinkCreatedArgs>>;
}>;

export interface UploadScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['Upload'], any> {
  name: 'Upload';
}

export type VocabularyResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Vocabulary'] = ResolversParentTypes['Vocabulary']> = ResolversObject<{
  createdAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  modality?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  params?: Resolver<ResolversTypes['JSON'], ParentType, ContextType>;
  representation?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  state?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  __isTypeOf?: IsTypeOfResolverFn<ParentType, ContextType>;
}>;

export type WholeSlideResolvers<ContextType = Context, ParentType extends ResolversParentTypes['WholeSlide'] = ResolversParentTypes['WholeSlide']> = ResolversObject<{
  compression?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  levels?: Resolver<Array<ResolversTypes['PyramidLevel']>, ParentType, ContextType>;
  pixelSizeSource?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  tiles?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  tilingError?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  tilingState?: Resolver<ResolversTypes['TilingState'], ParentType, ContextType>;
}>;

export type Resolvers<ContextType = Context> = ResolversObject<{
  ApiKey?: ApiKeyResolvers<ContextType>;
  ComirModel?: ComirModelResolvers<ContextType>;
  CreateApiKeyPayload?: CreateApiKeyPayloadResolvers<ContextType>;
  DateTime?: GraphQLScalarType;
  DeleteImagePayload?: DeleteImagePayloadResolvers<ContextType>;
  Image?: ImageResolvers<ContextType>;
  ImageConnection?: ImageConnectionResolvers<ContextType>;
  ImageEdge?: ImageEdgeResolvers<ContextType>;
  JSON?: GraphQLScalarType;
  Job?: JobResolvers<ContextType>;
  JobConnection?: JobConnectionResolvers<ContextType>;
  JobEdge?: JobEdgeResolvers<ContextType>;
  Link?: LinkResolvers<ContextType>;
  LinkConnection?: LinkConnectionResolvers<ContextType>;
  LinkCounts?: LinkCountsResolvers<ContextType>;
  LinkEdge?: LinkEdgeResolvers<ContextType>;
  LinkEvent?: LinkEventResolvers<ContextType>;
  Match?: MatchResolvers<ContextType>;
  Modality?: ModalityResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Node?: NodeResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  Point?: PointResolvers<ContextType>;
  PyramidLevel?: PyramidLevelResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  Region?: RegionResolvers<ContextType>;
  SearchResult?: SearchResultResolvers<ContextType>;
  SearchTimings?: SearchTimingsResolvers<ContextType>;
  Slide?: SlideResolvers<ContextType>;
  SlideConnection?: SlideConnectionResolvers<ContextType>;
  SlideEdge?: SlideEdgeResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  Upload?: GraphQLScalarType;
  Vocabulary?: VocabularyResolvers<ContextType>;
  WholeSlide?: WholeSlideResolvers<ContextType>;
}>;

