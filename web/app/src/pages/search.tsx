/**
 * Search: a dropped (or picked) file or a stored image as the query, a target modality, and the ranked matches with
 * score, confidence and footprint on each candidate; "Propose link" turns a match into a proposed Link (an uploaded
 * query is ingested first, as the link's source must be a stored image).
 */
import { useEffect, useRef, useState } from 'react';
import { ApiError, gql } from '../api.ts';
import { AuthImg, ErrorBox, FootprintThumb, routeParams } from '../components.tsx';
import { matchPolygon } from '../geometry.ts';
import type { ImageSummary } from '../types.ts';

/** A match's image: the summary the Images page reads, less the slide's id (this query does not ask for it). */
type Candidate = Omit<ImageSummary, 'slide'> & { slide: { name: string } | null };
interface Match {
  rank: number;
  score: number;
  confidence: number;
  region: { x: number; y: number; width: number; height: number } | null;
  footprint: { x: number; y: number }[] | null;
  transform: number[] | null;
  image: Candidate;
}
interface Result {
  matches: Match[];
  rerank: string;
  confidenceThreshold: number;
  timings: { total: number };
}
type Query = { kind: 'file'; file: File; preview: string } | { kind: 'stored'; image: Candidate };

const CANDIDATE = 'id name width height thumbnailUrl(size: 512) modality { name } slide { name }';
/** What a browser can decode or the server ingests (TIFF: the server decodes it, a browser shows no preview). */
const IMAGE_FILE = /\.(png|jpe?g|tiff?|webp)$/i;

export function SearchPage() {
  const [modalities, setModalities] = useState<string[]>([]);
  const [query, setQuery] = useState<Query | null>(null);
  const [queryModality, setQueryModality] = useState('');
  const [target, setTarget] = useState('');
  const [count, setCount] = useState(10);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [over, setOver] = useState(false);
  /** Each proposed match's link (by candidate id), or the error of proposing it. */
  const [proposed, setProposed] = useState<Record<string, { linkId?: string; error?: unknown; busy?: boolean }>>({});
  /** The uploaded query once ingested (so that several matches link to one stored image). */
  const storedUpload = useRef<{ file: File; id: string } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    gql<{ modalities: { name: string }[] }>('query Modalities { modalities { name } }').then((d) => setModalities(d.modalities.map((m) => m.name)), setError);
    const id = routeParams().get('image');
    if (id) {
      gql<{ image: Candidate | null }>(`query QueryImage($id: ID!) { image(id: $id) { ${CANDIDATE} } }`, { id }).then(
        (d) => d.image && setQuery({ kind: 'stored', image: d.image }),
        setError,
      );
    }
  }, []);
  // sensible defaults: the query's own modality, and another one as the target
  const qModality = query?.kind === 'stored' ? query.image.modality.name : queryModality;
  useEffect(() => {
    if (!modalities.length) return;
    if (!queryModality) setQueryModality(modalities[0]);
    if (!target || (target === qModality && modalities.length > 1)) setTarget(modalities.find((m) => m !== qModality) ?? modalities[0]);
  }, [modalities, qModality]);

  const takeFile = (file: File | undefined) => {
    if (!file) return;
    setResult(null);
    setProposed({});
    if (!(file.type.startsWith('image/') || IMAGE_FILE.test(file.name))) {
      setError(new ApiError('NOT_AN_IMAGE', `${file.name} is not an image (${file.type || 'unknown type'}): drop a PNG, JPEG or TIFF file.`));
      return;
    }
    setError(null);
    if (query?.kind === 'file') URL.revokeObjectURL(query.preview);
    setQuery({ kind: 'file', file, preview: URL.createObjectURL(file) });
  };

  const run = async () => {
    if (!query || !target) return;
    setRunning(true);
    setError(null);
    setProposed({});
    try {
      const text = `query Search($input: SearchInput!) { search(input: $input) { rerank confidenceThreshold timings { total }
        matches { rank score confidence region { x y width height } footprint { x y } transform image { ${CANDIDATE} } } } }`;
      const input = { target, first: count, ...(query.kind === 'stored' ? { imageId: query.image.id } : { modality: queryModality, file: null }) };
      const d = query.kind === 'file' ? await gql<{ search: Result }>(text, { input }, { path: 'input.file', file: query.file }) : await gql<{ search: Result }>(text, { input });
      setResult(d.search);
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  /** The query as a stored image: itself, or the upload ingested now (or found already stored). */
  const sourceId = async (): Promise<string> => {
    if (!query) throw new Error('no query');
    if (query.kind === 'stored') return query.image.id;
    if (storedUpload.current?.file === query.file) return storedUpload.current.id;
    let id: string;
    try {
      const d = await gql<{ ingestImage: { id: string } }>(
        'mutation Ingest($input: IngestImageInput!) { ingestImage(input: $input) { id } }',
        { input: { file: null, modality: queryModality, name: query.file.name.replace(/\.[^.]+$/, '') } },
        { path: 'input.file', file: query.file },
      );
      id = d.ingestImage.id;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'DUPLICATE_IMAGE' && typeof e.details.existingId === 'string') id = e.details.existingId;
      else throw e;
    }
    storedUpload.current = { file: query.file, id };
    return id;
  };

  const propose = async (m: Match) => {
    setProposed((p) => ({ ...p, [m.image.id]: { busy: true } }));
    try {
      const source = await sourceId();
      const d = await gql<{ linkAcquisition: { id: string } }>('mutation Propose($input: LinkAcquisitionInput!) { linkAcquisition(input: $input) { id status } }', {
        input: { source, target: m.image.id, region: m.region, transform: m.transform, score: m.score, method: `search:${result?.rerank.toLowerCase() ?? 'auto'}` },
      });
      setProposed((p) => ({ ...p, [m.image.id]: { linkId: d.linkAcquisition.id } }));
    } catch (error) {
      setProposed((p) => ({ ...p, [m.image.id]: { error } }));
    }
  };

  return (
    <section className="page">
      <div className="toolbar">
        <h1>Search</h1>
        <span className="muted">Where was this image taken? Ranks the target modality's images, best first.</span>
      </div>
      <div className="search-form">
        <div className="form-panel">
          <div
            className={`dropzone${over ? ' over' : ''}`}
            data-testid="dropzone"
            onDragOver={(e) => {
              e.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={(e) => {
              e.preventDefault();
              setOver(false);
              takeFile(e.dataTransfer.files[0]);
            }}
            onClick={() => fileInput.current?.click()}
          >
            <strong>Drop an image here</strong> or click to pick a file
            <input ref={fileInput} type="file" aria-label="Query file" hidden onChange={(e) => takeFile(e.target.files?.[0])} />
            {query?.kind === 'file' ? (
              <div>
                <img src={query.preview} alt={query.file.name} onError={(e) => (e.currentTarget.style.display = 'none')} />
                <div className="hint">
                  {query.file.name} · {(query.file.size / 1024).toFixed(0)} KiB
                </div>
              </div>
            ) : null}
          </div>
          <StoredPicker
            onPick={(image) => {
              setResult(null);
              setProposed({});
              setError(null);
              setQuery({ kind: 'stored', image });
            }}
          />
          {query?.kind === 'stored' ? (
            <div className="row">
              <div className="thumb-box" style={{ width: 64, height: 64 }}>
                <AuthImg src={query.image.thumbnailUrl} alt={query.image.name} />
              </div>
              <span>
                Query: <strong>{query.image.name}</strong> ({query.image.modality.name})
              </span>
            </div>
          ) : null}
          <label>
            Query modality
            <select aria-label="Query modality" value={qModality} disabled={query?.kind === 'stored'} onChange={(e) => setQueryModality(e.target.value)}>
              {modalities.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Target modality
            <select aria-label="Target modality" value={target} onChange={(e) => setTarget(e.target.value)}>
              {modalities.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Matches
            <input type="text" inputMode="numeric" aria-label="Matches" value={count} onChange={(e) => setCount(Math.max(1, Math.min(100, Number(e.target.value) || 1)))} />
          </label>
          <button type="button" className="primary" disabled={!query || !target || running} onClick={() => void run()}>
            {running ? 'Searching…' : 'Search'}
          </button>
        </div>
        <div>
          <ErrorBox error={error} />
          {!result && !error ? <p className="empty">{running ? 'Searching… (re-ranking compares every candidate: seconds)' : 'Results appear here.'}</p> : null}
          {result ? (
            <>
              <p className="muted" data-testid="search-summary">
                {result.matches.length} match{result.matches.length === 1 ? '' : 'es'} · re-ranking {result.rerank} · {(result.timings.total / 1000).toFixed(1)} s · confidence to trust
                without review ≥ {result.confidenceThreshold.toFixed(2)}
              </p>
              <ol className="matches">
                {result.matches.map((m) => {
                  const poly = matchPolygon(m);
                  const p = proposed[m.image.id];
                  const trusted = m.confidence >= result.confidenceThreshold;
                  return (
                    <li key={m.image.id} className="match" data-testid="match" data-image={m.image.id}>
                      <FootprintThumb thumb={m.image.thumbnailUrl} width={m.image.width} height={m.image.height} alt={m.image.name} polygons={poly ? [{ poly }] : []} />
                      <div className="row">
                        <strong>
                          #{m.rank} {m.image.name}
                        </strong>
                        <span className="muted">{m.image.slide?.name ?? m.image.modality.name}</span>
                      </div>
                      <div className="hint">
                        score {m.score.toFixed(3)} · confidence {(m.confidence * 100).toFixed(0)} %{trusted ? ' (trusted)' : ''}
                      </div>
                      <div className={`meter${trusted ? ' trusted' : ''}`} title="confidence">
                        <span style={{ width: `${Math.round(m.confidence * 100)}%` }} />
                      </div>
                      {p?.linkId ? (
                        <span className="notice">
                          Proposed. <a href="#/review">Review it →</a>
                        </span>
                      ) : (
                        <button type="button" disabled={p?.busy} onClick={() => void propose(m)}>
                          {p?.busy ? 'Proposing…' : 'Propose link'}
                        </button>
                      )}
                      <ErrorBox error={p?.error} />
                    </li>
                  );
                })}
              </ol>
            </>
          ) : null}
        </div>
      </div>
    </section>
  );
}

/** Pick a stored image as the query: by name, the first few that match. */
function StoredPicker({ onPick }: { onPick: (image: Candidate) => void }) {
  const [name, setName] = useState('');
  const [found, setFound] = useState<Candidate[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!name.trim()) return setFound([]);
    const t = setTimeout(() => {
      gql<{ images: { edges: { node: Candidate }[] } }>(`query Pick($filter: ImageFilter) { images(first: 6, filter: $filter) { edges { node { ${CANDIDATE} } } } }`, {
        filter: { name: name.trim() },
      }).then((d) => (setFound(d.images.edges.map((e) => e.node)), setError(null)), setError);
    }, 250);
    return () => clearTimeout(t);
  }, [name]);
  return (
    <label>
      …or a stored image
      <input type="search" aria-label="Stored image" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
      {found.map((img) => (
        <button
          type="button"
          key={img.id}
          className="link-item"
          onClick={() => {
            onPick(img);
            setName('');
          }}
        >
          {img.name} <span className="muted">{img.modality.name}</span>
        </button>
      ))}
      <ErrorBox error={error} />
    </label>
  );
}
