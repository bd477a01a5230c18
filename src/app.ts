import path from 'node:path';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { FileStore } from './db/file-store.ts';
import { NoNotifications, PgNotifications } from './db/notifications.ts';
import { AdmissionService } from './services/admission.service.ts';
import { ImageRepository } from './db/image.repository.ts';
import { ApiKeyRepository } from './db/api-key.repository.ts';
import { AuditRepository } from './db/audit.repository.ts';
import { JobRepository } from './db/job.repository.ts';
import { LinkRepository } from './db/link.repository.ts';
import { ModalityRepository } from './db/modality.repository.ts';
import { SlideRepository } from './db/slide.repository.ts';
import { TileRepository } from './db/tile.repository.ts';
import { VectorRepository } from './db/vector.repository.ts';
import { VocabularyRepository } from './db/vocabulary.repository.ts';
import { AuditService } from './services/audit.service.ts';
import { EmbeddingService } from './services/embedding.service.ts';
import { HealthService } from './services/health.service.ts';
import { ImageService, SHARED_SWEEP_GRACE_MS } from './services/image.service.ts';
import { IndexCache } from './services/index-cache.ts';
import { GraphileQueue, InProcessQueue } from './services/job-queue.ts';
import { JobService } from './services/job.service.ts';
import { KeyService } from './services/key.service.ts';
import { LinkService } from './services/link.service.ts';
import { ModalityService } from './services/modality.service.ts';
import { ModelService } from './services/model.service.ts';
import { RepresentationService } from './services/representation.service.ts';
import { RerankService } from './services/rerank.service.ts';
import { SearchService } from './services/search.service.ts';
import { CorrelationPool } from './pipeline/rerank/correlate-pool.ts';
import { PipelineThreads } from './pipeline/threads/pool.ts';
import { SlideService } from './services/slide.service.ts';
import { TileService } from './services/tile.service.ts';
import { VocabularyService } from './services/vocabulary.service.ts';
import { WholeSlideService } from './services/wsi.service.ts';

/** The repositories: plain data access, one per table group (immich's rule: no cmir logic in them). */
export interface Repositories {
  images: ImageRepository;
  slides: SlideRepository;
  modalities: ModalityRepository;
  jobs: JobRepository;
  links: LinkRepository;
  vocabularies: VocabularyRepository;
  vectors: VectorRepository;
  tiles: TileRepository;
  apiKeys: ApiKeyRepository;
  audit: AuditRepository;
}

export interface Services {
  images: ImageService;
  slides: SlideService;
  modalities: ModalityService;
  jobs: JobService;
  links: LinkService;
  models: ModelService;
  representations: RepresentationService;
  vocabularies: VocabularyService;
  embeddings: EmbeddingService;
  search: SearchService;
  /** Stage III of a search: re-ranking of the first stage's candidates (CORRELATE's cascade among them). */
  reranker: RerankService;
  /** Whole-slide images: ingestion, tiling jobs, the slide's CoMIR around a place. */
  wsi: WholeSlideService;
  /** Deep-zoom tiles (IIIF Image API 3.0 level 1) of every stored image. */
  tiles: TileService;
  /** API keys: creation, revocation, and who a request is (docs/adr/0014). */
  keys: KeyService;
  /** The append-only audit trail of changes. */
  audit: AuditService;
  /** Readiness (/readyz): database reachable, CoMIR models loaded. */
  health: HealthService;
  /** Searches and uploads admitted per key and per server (docs/adr/0024); the API's edge asks it. */
  admission: AdmissionService;
}

/** One running cmir: configuration, database, file store, repositories and services. Shared by server and CLI. */
export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly repos: Repositories;
  readonly services: Services;
  close(): Promise<void>;
}

export async function createApp(config: Config, opts: { memory?: boolean } = {}): Promise<App> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: opts.memory ? 'memory://' : path.join(config.home, 'db'),
  });
  const { prisma } = db;
  const files = new FileStore(path.join(config.home, 'files'));
  const repos: Repositories = {
    images: new ImageRepository(prisma),
    slides: new SlideRepository(prisma),
    modalities: new ModalityRepository(prisma),
    jobs: new JobRepository(prisma),
    links: new LinkRepository(prisma),
    vocabularies: new VocabularyRepository(prisma),
    vectors: new VectorRepository(prisma),
    tiles: new TileRepository(prisma),
    apiKeys: new ApiKeyRepository(prisma),
    audit: new AuditRepository(prisma),
  };
  const audit = new AuditService(prisma, repos.audit);
  const modalities = new ModalityService(repos.modalities);
  // Jobs go through a queue (docs/adr/0023): graphile-worker on a Postgres server, where any process that works the
  // queue runs them (cmir serve, cmir worker); on the embedded database this process is the only one (lock file), so
  // it runs them itself and its unfinished jobs at start-up are orphans. On a shared Postgres only jobs whose
  // heartbeat stopped are: queued ones are handed back to the queue, the others failed.
  const queue = db.kind === 'postgres' && config.databaseUrl ? new GraphileQueue(config.databaseUrl) : new InProcessQueue();
  // What one process changes that others hold in memory (first-stage inverted files, job rows for jobUpdated) is told
  // over LISTEN/NOTIFY on a Postgres server (docs/adr/0027); the embedded database has one process.
  const notifications = db.kind === 'postgres' && config.databaseUrl ? new PgNotifications(config.databaseUrl) : new NoNotifications();
  const jobs = new JobService(repos.jobs, { queue, heartbeatMs: config.jobHeartbeatMs, notifications });
  await jobs.listen();
  await jobs.recover(db.kind === 'pglite');
  // the embedded database's queue runs every job at once, as jobs ran before the queue
  if (queue.name === 'in-process') await jobs.work(Infinity);
  const cache = new IndexCache(repos.vectors, notifications);
  await cache.listen();
  // CoMIR, window vectors and no-data masks run on worker threads (started at first use), off the event loop (docs/adr/0020)
  const threads = new PipelineThreads(config.pipelineThreads);
  const representations = new RepresentationService(config, prisma, files, threads);
  const models = new ModelService(prisma);
  // The shipped models (models/*) are registered on first start, so SHG and BF meet in CoMIR space out of the box.
  await models.registerAll(config.modelsDir);
  // Dense correlation runs on worker threads, one per core (started at the first CORRELATE search).
  const correlation = new CorrelationPool();
  const vocabularies = new VocabularyService(prisma, repos.vocabularies, repos.vectors, representations, modalities, jobs, cache);
  // versions whose build a stopped process left unfinished are failed (jobs.recover failed their jobs above)
  await vocabularies.recover();
  const embeddings = new EmbeddingService(prisma, repos.vectors, representations, modalities, jobs, threads);
  const wsi = new WholeSlideService(config, prisma, repos.images, repos.slides, repos.tiles, repos.vectors, modalities, representations, files, jobs, embeddings);
  const reranker = new RerankService(repos.images, repos.vectors, representations, correlation, wsi);
  const services: Services = {
    modalities,
    slides: new SlideService(repos.slides),
    images: new ImageService(config, prisma, repos.images, repos.slides, repos.modalities, modalities, files, representations, vocabularies, cache, embeddings, wsi, jobs),
    jobs,
    links: new LinkService(prisma, repos.links, repos.images, audit, repos.modalities),
    models,
    representations,
    vocabularies,
    embeddings,
    wsi,
    reranker,
    search: new SearchService(config, files, repos.images, representations, vocabularies, embeddings, cache, reranker),
    tiles: new TileService(repos.images, files),
    keys: new KeyService(prisma, repos.apiKeys, audit),
    audit,
    health: new HealthService(prisma, db.kind, representations),
    admission: new AdmissionService(config.admission),
  };
  // What a process killed midway left in the file store (issue 19). An in-memory database (tests) starts empty and
  // holds no lock on the home, so its store is left as it is.
  if (!opts.memory) await services.images.sweepFiles(db.kind === 'pglite' ? 0 : SHARED_SWEEP_GRACE_MS);
  return {
    config,
    db,
    repos,
    services,
    async close() {
      await jobs.stop(config.shutdownGraceMs);
      await notifications.close();
      await threads.close();
      await correlation.close();
      await db.close();
    },
  };
}
