/** Images: a searchable (name), filterable (modality, slide), paginated grid of thumbnails. */
import { useEffect, useState } from 'react';
import { gql } from '../api.ts';
import { AuthImg, ErrorBox } from '../components.tsx';
import type { ImageSummary } from '../types.ts';

const PAGE_SIZE = 24;
/** Cards on the first screen at 1280 x 800 (two rows of six): their thumbnails load first, the rest lazily. */
const FIRST_SCREEN = 12;

interface ImagesData {
  images: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: ImageSummary }[] };
}

export const IMAGE_FIELDS = 'id name width height thumbnailUrl(size: 256) modality { name } slide { id name }';

const IMAGES_QUERY = `query Images($first: Int, $after: String, $filter: ImageFilter) { images(first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { ${IMAGE_FIELDS} } } } }`;

/**
 * The unfiltered first page, asked for as the bundle starts when the tab opens on the grid, so the request is on its
 * way while React mounts (bench/results/ui.md: it used to leave ~250 ms after the bundle arrived). Used once; a
 * failure (a key needed before the dialog exists) falls back to the page's own request.
 */
let firstPage: Promise<ImagesData> | null = /^#?\/?(images)?(\?.*)?$/.test(window.location.hash)
  ? gql<ImagesData>(IMAGES_QUERY, { first: PAGE_SIZE, after: null, filter: {} })
  : null;
firstPage?.catch(() => {});

export function ImagesPage() {
  const [name, setName] = useState('');
  const [modality, setModality] = useState('');
  const [slide, setSlide] = useState('');
  const [options, setOptions] = useState<{ modalities: { name: string; imageCount: number }[]; slides: { id: string; name: string }[] }>({ modalities: [], slides: [] });
  /** Cursors of the pages before this one (keyset pagination: the API's cursors only go forward). */
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [data, setData] = useState<ImagesData['images'] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [debounced, setDebounced] = useState('');

  useEffect(() => {
    const t = setTimeout(() => setDebounced(name.trim()), 250);
    return () => clearTimeout(t);
  }, [name]);
  // the filters' options once the grid is there: the first page is not queued behind them on the server
  const gridShown = data !== null || error !== null;
  useEffect(() => {
    if (!gridShown) return;
    gql<{ modalities: { name: string; imageCount: number }[]; slides: { edges: { node: { id: string; name: string } }[] } }>(
      'query Filters { modalities { name imageCount } slides(first: 100) { edges { node { id name } } } }',
    ).then(
      (d) => setOptions({ modalities: d.modalities, slides: d.slides.edges.map((e) => e.node) }),
      setError,
    );
  }, [gridShown]);
  // a new filter starts at the first page
  useEffect(() => setCursors([null]), [debounced, modality, slide]);
  const after = cursors[cursors.length - 1];
  useEffect(() => {
    let live = true;
    const filter = { ...(debounced ? { name: debounced } : {}), ...(modality ? { modality } : {}), ...(slide ? { slide } : {}) };
    const prefetched = firstPage && after === null && Object.keys(filter).length === 0 ? firstPage : null;
    firstPage = null;
    const query = () => gql<ImagesData>(IMAGES_QUERY, { first: PAGE_SIZE, after, filter });
    (prefetched ? prefetched.catch(query) : query()).then(
      (d) => live && (setData(d.images), setError(null)),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [debounced, modality, slide, after]);

  const pageNo = cursors.length;
  const pages = data ? Math.max(1, Math.ceil(data.totalCount / PAGE_SIZE)) : 1;
  return (
    <section className="page">
      <div className="toolbar">
        <h1>Images</h1>
        <input type="search" placeholder="Search by name" aria-label="Search by name" value={name} onChange={(e) => setName(e.target.value)} />
        <select aria-label="Modality" value={modality} onChange={(e) => setModality(e.target.value)}>
          <option value="">All modalities</option>
          {options.modalities.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name} ({m.imageCount})
            </option>
          ))}
        </select>
        <select aria-label="Slide" value={slide} onChange={(e) => setSlide(e.target.value)}>
          <option value="">All slides</option>
          {options.slides.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
        <span className="spacer" />
        <span className="muted" data-testid="image-count">
          {data ? `${data.totalCount} image${data.totalCount === 1 ? '' : 's'}` : '…'}
        </span>
      </div>
      <ErrorBox error={error} />
      {data && data.edges.length === 0 ? <p className="empty">No image matches. Ingest some with `cmir ingest FILES --modality NAME`.</p> : null}
      <ul className="grid">
        {data?.edges.map(({ node: img }, i) => (
          <li key={img.id} className="card">
            <a href={`#/viewer/${encodeURIComponent(img.id)}`} title={`Open ${img.name} in the viewer`}>
              <div className="thumb">
                <AuthImg src={img.thumbnailUrl} alt={img.name} eager={i < FIRST_SCREEN} />
              </div>
              <div className="caption">
                <strong>{img.name}</strong>
                <span>
                  {img.modality.name}
                  {img.slide ? ` · ${img.slide.name}` : ''} · {img.width}×{img.height}
                </span>
              </div>
            </a>
          </li>
        ))}
      </ul>
      <div className="pager">
        <button type="button" disabled={pageNo <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Previous
        </button>
        <span>
          page {pageNo} of {pages}
        </span>
        <button type="button" disabled={!data?.pageInfo.hasNextPage} onClick={() => data && setCursors((c) => [...c, data.pageInfo.endCursor])}>
          Next →
        </button>
      </div>
    </section>
  );
}
