import path from 'node:path';
import { invalidParameter } from './errors.ts';
import { PROJECT_ROOT } from './paths.ts';

/** What anonymous requests may do (CMIR_ANONYMOUS): nothing, or run queries. */
export type AnonymousAccess = 'none' | 'read';

/** Runtime configuration, from flags first, then environment, then defaults. Validated once, up front. */
export interface Config {
  /** Folder holding the embedded database, the file store and caches (CMIR_HOME, --home; default ./.cmir). */
  readonly home: string;
  /** External Postgres with pgvector; when unset the embedded PGlite database in `home/db` is used. */
  readonly databaseUrl: string | undefined;
  readonly port: number;
  /** The address `cmir serve` binds (CMIR_HOST, --host; default 127.0.0.1, this machine only: docs/adr/0014). */
  readonly host: string;
  /**
   * What a request without a key may do (CMIR_ANONYMOUS=none|read, docs/adr/0014): `read` runs queries, `none`
   * nothing. Null (unset): `read` when the server binds a loopback host, `none` otherwise (src/server/server.ts).
   */
  readonly anonymous: AnonymousAccess | null;
  /** Largest accepted image, in pixels (width x height); larger files get PAYLOAD_TOO_LARGE. */
  readonly maxPixels: number;
  /** Largest accepted upload, in bytes. */
  readonly maxUploadBytes: number;
  /** libvips stops decoding an image after this many seconds: PAYLOAD_TOO_LARGE (CMIR_DECODE_SECONDS). */
  readonly decodeSeconds: number;
  /** Where the shipped CoMIR models live. */
  readonly modelsDir: string;
  /**
   * Folders whose files `ingestImage(path:)` may read (CMIR_INGEST_ROOTS, ':'-separated). Empty: server-side paths
   * are refused, since a GraphQL client must not read arbitrary files of the server.
   */
  readonly ingestRoots: readonly string[];
  /** Bytes of downsampled representations kept in memory for dense correlation (CMIR_CORRELATION_CACHE_MB). */
  readonly correlationCacheBytes: number;
  /** Worker threads of CoMIR, window vectors and no-data masks (CMIR_PIPELINE_THREADS; pipeline/threads, docs/adr/0020). */
  readonly pipelineThreads: number;
  /**
   * How often a process touches the jobs it runs (CMIR_JOB_HEARTBEAT_MS, default 15,000); four missed beats and the
   * job's runner counts as stopped (JobService): a queued job is handed back, another failed (docs/adr/0023).
   */
  readonly jobHeartbeatMs: number;
  /** How long SIGTERM lets running queued jobs finish before they are handed back (CMIR_SHUTDOWN_GRACE_S, default 30; 0: at once). */
  readonly shutdownGraceMs: number;
  /**
   * GraphQL query limits (src/server/limits.ts, @escape.tech/graphql-armor): a query over any of them is refused
   * before it runs, with `extensions.code` QUERY_TOO_COMPLEX. Defaults and their reasons: DEFAULT_QUERY_LIMITS.
   */
  readonly queryLimits: QueryLimits;
  /** Whether GraphQL introspection (`__schema`, `__type`) is answered (CMIR_INTROSPECTION=1); off by default. */
  readonly introspection: boolean;
  /**
   * Browser origins (`scheme://host[:port]`) whose pages may call the API (CMIR_CORS_ORIGINS, comma-separated; default
   * none): CORS answers for them on /graphql and /thumbnails (src/server/browser.ts, docs/adr/0018).
   */
  readonly corsOrigins: readonly string[];
  /** What the server admits of searches and uploads (services/admission.service.ts, docs/adr/0024). */
  readonly admission: AdmissionLimits;
}

export interface QueryLimits {
  /** Deepest field nesting (CMIR_MAX_QUERY_DEPTH). */
  readonly depth: number;
  /** Aliased fields per operation (CMIR_MAX_QUERY_ALIASES). */
  readonly aliases: number;
  /** graphql-armor cost: objects 2, scalars 1, x1.5 per level, x `first` (literal) per connection (CMIR_MAX_QUERY_COST). */
  readonly cost: number;
  /** Lexical tokens per document (CMIR_MAX_QUERY_TOKENS). */
  readonly tokens: number;
  /** Directives per operation (CMIR_MAX_QUERY_DIRECTIVES). */
  readonly directives: number;
}

/**
 * Measured on the project's own queries (README, test/api) with the library's rules (test/api/limits.test.ts checks
 * that they pass):
 */
export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  /**
   * 12: following provenance 5 links from an image (`image { links { source { links { ... } } } }`, 2 levels a hop)
   * is 12, a slide's images' links' sources' slide 8, the README's search 5; a 200-deep chain ran the heap out.
   */
  depth: 12,
  /** 15 (the library's default): no query of the project aliases a field; a client may alias a few (two thumbnail sizes). */
  aliases: 15,
  /**
   * 200,000: a full page (`images(first: 500)`, MAX_PAGE) with every field, slide, modality and links costs ~110,000,
   * the README's search ~70; 100 slides x their first 100 images (10,000 rows) ~715,000 is refused.
   */
  cost: 200_000,
  /** 1,000 (the library's default): the largest real query (search with every field) has ~130; variables do not count. */
  tokens: 1_000,
  /** 50 (the library's default): no query of the project uses a directive. */
  directives: 50,
};

/**
 * 2^28 px: 16384 x 16384. sharp's own default `limitInputPixels` is 0x3FFF x 0x3FFF (sharp docs, constructor); whole
 * slides larger than that must be tiled before ingestion.
 */
export const DEFAULT_MAX_PIXELS = 16_384 * 16_384;
/** 1 GiB: a 16-bit RGB 16k x 16k TIFF is 1.5 GiB uncompressed, but real ones are compressed. */
export const DEFAULT_MAX_UPLOAD_BYTES = 1 << 30;
/**
 * 60 s: libvips decoded a 15,000 x 15,000 RGB PNG (675 M samples, near DEFAULT_MAX_PIXELS) in 6.2 s on this 2-core
 * machine under load (issue 19, tmp script), so a file that takes 10 times that is refused rather than waited for.
 */
export const DEFAULT_DECODE_SECONDS = 60;

/**
 * 256 MiB: a 1024 x 680 image at the coarse and fine correlation scales (1/16 and 1/8) takes ~54 KB, so ~5,000
 * images stay cached.
 */
export const DEFAULT_CORRELATION_CACHE_MB = 256;

/**
 * 1: a 1024 x 680 RGB CoMIR takes ~850 MB of onnxruntime working memory per thread that runs one (process RSS 118 MB,
 * then ~1,000 MB with one thread, ~1,930 MB with two; docs/adr/0020), and before worker threads CoMIRs ran one at a
 * time too. A machine with cores and memory to spare can run more (CMIR_PIPELINE_THREADS).
 */
export const DEFAULT_PIPELINE_THREADS = 1;

/**
 * Admission of heavy requests (docs/adr/0024). Per key: 60 searches a minute (one a second, sustained: a person at the
 * dashboard or a script that waits for each answer stays under it) and 600 uploads (ten a second: an ingestion takes
 * 1-2 s, so only parallel clients reach it). Per server: 1 search at once (it runs on the pipeline thread, of which the
 * default is one) and 1 waiting. Measured with bench:load (50 clients, 2 searches/s, 20 s, side by side): reads p99
 * 15.2 s without admission, 6.4 s with 2 running + 4 waiting, 3.9 s with 1 + 1 (bench/results/load-20s-admission-*).
 */
export const DEFAULT_ADMISSION: AdmissionLimits = { searchesPerMinute: 60, uploadsPerMinute: 600, searchConcurrency: 1, searchQueue: 1 };

/** What one server admits of heavy requests (services/admission.service.ts, docs/adr/0024). */
export interface AdmissionLimits {
  /** Searches one key (or all anonymous requests together) may start per minute; 0: no limit (CMIR_SEARCH_RATE). */
  searchesPerMinute: number;
  /** Uploads (ingestions and searches by file) one key may send per minute; 0: no limit (CMIR_UPLOAD_RATE). */
  uploadsPerMinute: number;
  /** Searches running at once on this server (CMIR_SEARCH_CONCURRENCY). */
  searchConcurrency: number;
  /** Searches that may wait for one of those; one more is answered SERVER_BUSY (CMIR_SEARCH_QUEUE). */
  searchQueue: number;
}

export interface ConfigOverrides {
  home?: string;
  databaseUrl?: string;
  port?: number | string;
  host?: string;
  maxPixels?: number | string;
}

function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw invalidParameter(name, '1/true or 0/false', value);
}

/**
 * CMIR_CORS_ORIGINS: each entry an origin as browsers send it in `Origin` (RFC 6454: scheme, host, port; no path, no
 * trailing slash), so that it compares equal. `*` is refused: with anonymous reads on a loopback server, any web page
 * could then read the database through a visitor's browser (the cross-site request Apollo's CSRF prevention blocks).
 */
export function parseCorsOrigins(value: string | undefined): string[] {
  const out: string[] = [];
  for (const raw of (value ?? '').split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin === 'null' || origin !== entry) {
      throw invalidParameter('CMIR_CORS_ORIGINS', 'comma-separated origins such as https://lab.example.org:8080 (scheme://host[:port], no path)', entry);
    }
    out.push(origin);
  }
  return out;
}
/** 15 s: the heartbeat jobs had before the queue (issue 19), so a stopped runner is noticed after a minute. */
export const DEFAULT_JOB_HEARTBEAT_MS = 15_000;
/**
 * 30 s: Kubernetes' default terminationGracePeriodSeconds (its docs, Pod lifecycle), the SIGTERM-to-SIGKILL time a
 * replica usually gets; jobs still running then are handed back rather than killed halfway.
 */
export const DEFAULT_SHUTDOWN_GRACE_S = 30;

function nonNegativeInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw invalidParameter(name, 'an integer >= 0', value);
  return n;
}

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidParameter(name, 'a positive integer', value);
  return n;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const home = path.resolve(overrides.home ?? env.CMIR_HOME ?? '.cmir');
  const databaseUrl = overrides.databaseUrl ?? (env.DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw invalidParameter('DATABASE_URL', 'a postgresql:// URL', databaseUrl);
  }
  const port = positiveInt('port', overrides.port ?? env.PORT, 4000);
  if (port > 65535) throw invalidParameter('port', 'a TCP port (1-65535)', port);
  const anonymous = env.CMIR_ANONYMOUS || null;
  if (anonymous !== null && anonymous !== 'none' && anonymous !== 'read') throw invalidParameter('CMIR_ANONYMOUS', 'none or read', anonymous);
  return {
    home,
    databaseUrl,
    port,
    host: overrides.host ?? (env.CMIR_HOST || '127.0.0.1'),
    anonymous,
    maxPixels: positiveInt('maxPixels', overrides.maxPixels ?? env.CMIR_MAX_PIXELS, DEFAULT_MAX_PIXELS),
    maxUploadBytes: positiveInt('maxUploadBytes', env.CMIR_MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES),
    decodeSeconds: positiveInt('decodeSeconds', env.CMIR_DECODE_SECONDS, DEFAULT_DECODE_SECONDS),
    modelsDir: path.resolve(env.CMIR_MODELS_DIR ?? path.join(PROJECT_ROOT, 'models')),
    ingestRoots: (env.CMIR_INGEST_ROOTS ?? '').split(':').filter(Boolean).map((p) => path.resolve(p)),
    correlationCacheBytes: positiveInt('correlationCacheMb', env.CMIR_CORRELATION_CACHE_MB, DEFAULT_CORRELATION_CACHE_MB) * 2 ** 20,
    pipelineThreads: positiveInt('pipelineThreads', env.CMIR_PIPELINE_THREADS, DEFAULT_PIPELINE_THREADS),
    jobHeartbeatMs: positiveInt('CMIR_JOB_HEARTBEAT_MS', env.CMIR_JOB_HEARTBEAT_MS, DEFAULT_JOB_HEARTBEAT_MS),
    // 0: hand running jobs back at once
    shutdownGraceMs: (env.CMIR_SHUTDOWN_GRACE_S === '0' ? 0 : positiveInt('CMIR_SHUTDOWN_GRACE_S', env.CMIR_SHUTDOWN_GRACE_S, DEFAULT_SHUTDOWN_GRACE_S)) * 1000,
    queryLimits: {
      depth: positiveInt('CMIR_MAX_QUERY_DEPTH', env.CMIR_MAX_QUERY_DEPTH, DEFAULT_QUERY_LIMITS.depth),
      aliases: positiveInt('CMIR_MAX_QUERY_ALIASES', env.CMIR_MAX_QUERY_ALIASES, DEFAULT_QUERY_LIMITS.aliases),
      cost: positiveInt('CMIR_MAX_QUERY_COST', env.CMIR_MAX_QUERY_COST, DEFAULT_QUERY_LIMITS.cost),
      tokens: positiveInt('CMIR_MAX_QUERY_TOKENS', env.CMIR_MAX_QUERY_TOKENS, DEFAULT_QUERY_LIMITS.tokens),
      directives: positiveInt('CMIR_MAX_QUERY_DIRECTIVES', env.CMIR_MAX_QUERY_DIRECTIVES, DEFAULT_QUERY_LIMITS.directives),
    },
    introspection: flag('CMIR_INTROSPECTION', env.CMIR_INTROSPECTION),
    corsOrigins: parseCorsOrigins(env.CMIR_CORS_ORIGINS),
    admission: {
      searchesPerMinute: nonNegativeInt('CMIR_SEARCH_RATE', env.CMIR_SEARCH_RATE, DEFAULT_ADMISSION.searchesPerMinute),
      uploadsPerMinute: nonNegativeInt('CMIR_UPLOAD_RATE', env.CMIR_UPLOAD_RATE, DEFAULT_ADMISSION.uploadsPerMinute),
      searchConcurrency: positiveInt('CMIR_SEARCH_CONCURRENCY', env.CMIR_SEARCH_CONCURRENCY, DEFAULT_ADMISSION.searchConcurrency),
      searchQueue: nonNegativeInt('CMIR_SEARCH_QUEUE', env.CMIR_SEARCH_QUEUE, DEFAULT_ADMISSION.searchQueue),
    },
  };
}
