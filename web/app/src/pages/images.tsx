/**
 * Slides and images: a paginated grid of thumbnails, searchable by name and filtered by modality, slide and slide
 * metadata (key = value pairs, all of which must hold). #/images lists images; #/slides lists slides, each shown by
 * its first image (the modality filter picks which), opening that image in the viewer on its deep-zoom tiles.
 */
import { useEffect, useState } from 'react';
import { apiKey, gql } from '../api.ts';
import { AuthImg, ErrorBox } from '../components.tsx';
import { IMAGES_QUERY, PAGE_SIZE, takeFirstPage } from '../first-page.ts';
import type { ImageSummary } from '../types.ts';

/** Cards on the first screen at 1280 x 800 (six columns; the fourth row shows its top): their thumbnails load first. */
const FIRST_SCREEN = 24;

interface Connection<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: T }[];
}
/** A card of the Images grid: its thumbnail inline (a data: URL), so a page of 24 is one request, not 25. */
type GridImage = Omit<ImageSummary, 'thumbnailUrl'> & { thumbnailDataUrl: string };
interface ImagesData {
  images: Connection<GridImage>;
}
interface SlideCard {
  id: string;
  name: string;
  metadata: Record<string, unknown>;
  images: Connection<ImageSummary & { wholeSlide: { compression: string } | null }>;
}

export const IMAGE_FIELDS = 'id name width height thumbnailUrl(size: 256) modality { name } slide { id name }';

/** A slide's images, enough to pick the one that shows it: its whole-slide image where it has one, else the first. */
const SLIDES_QUERY = `query Slides($first: Int, $after: String, $filter: SlideFilter, $modality: String) { slides(first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id name metadata
    images(first: 10, modality: $modality) { totalCount edges { node { ${IMAGE_FIELDS} wholeSlide { compression } } } } } } } }`;

/**
 * The unfiltered first page, asked for by app/first.js before this bundle ran (first-page.ts), when the tab opened on
 * the grid. Used once; anything but data falls back to the page's own request.
 */
let firstPage: Promise<ImagesData> | null = takeFirstPage<ImagesData>(apiKey.get());
firstPage?.catch(() => {});

export interface MetadataPair {
  key: string;
  value: string;
}

/** "key = value" as typed: the pair, or a message saying what is wrong. */
export function parsePair(text: string): MetadataPair | string {
  const at = text.indexOf('=');
  if (at < 0) return 'Write a metadata filter as key = value, e.g. stain = HE.';
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  if (!key) return 'The key before "=" is empty.';
  return { key, value };
}

/** The image that shows a slide in the grid and opens in the viewer: its whole-slide image if any, else the first. */
function coverOf(slide: SlideCard): ImageSummary | null {
  const images = slide.images.edges.map((e) => e.node);
  return images.find((i) => i.wholeSlide) ?? images[0] ?? null;
}

export function BrowsePage({ mode }: { mode: 'images' | 'slides' }) {
  const [name, setName] = useState('');
  const [modality, setModality] = useState('');
  const [slide, setSlide] = useState('');
  const [pairs, setPairs] = useState<MetadataPair[]>([]);
  const [pairText, setPairText] = useState('');
  const [pairError, setPairError] = useState<string | null>(null);
  const [options, setOptions] = useState<{ modalities: { name: string; imageCount: number }[]; slides: { id: string; name: string }[]; slideCount: number }>({
    modalities: [],
    slides: [],
    slideCount: 0,
  });
  /** Cursors of the pages before this one (keyset pagination: the API's cursors only go forward). */
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [images, setImages] = useState<Connection<GridImage> | null>(null);
  const [slides, setSlides] = useState<Connection<SlideCard> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [debounced, setDebounced] = useState('');

  useEffect(() => {
    const t = setTimeout(() => setDebounced(name.trim()), 250);
    return () => clearTimeout(t);
  }, [name]);
  // the filters' options once the grid is there: the first page is not queued behind them on the server
  const gridShown = images !== null || slides !== null || error !== null;
  useEffect(() => {
    if (!gridShown) return;
    gql<{ modalities: { name: string; imageCount: number }[]; slides: { totalCount: number; edges: { node: { id: string; name: string } }[] } }>(
      'query Filters { modalities { name imageCount } slides(first: 100) { totalCount edges { node { id name } } } }',
    ).then(
      (d) => setOptions({ modalities: d.modalities, slides: d.slides.edges.map((e) => e.node), slideCount: d.slides.totalCount }),
      setError,
    );
  }, [gridShown]);
  // a new filter (or the other list) starts at the first page
  const pairsKey = JSON.stringify(pairs);
  useEffect(() => setCursors([null]), [mode, debounced, modality, slide, pairsKey]);
  const after = cursors[cursors.length - 1];
  useEffect(() => {
    let live = true;
    if (mode === 'slides') {
      const filter = { ...(debounced ? { name: debounced } : {}), ...(pairs.length ? { metadata: pairs } : {}) };
      gql<{ slides: Connection<SlideCard> }>(SLIDES_QUERY, { first: PAGE_SIZE, after, filter, modality: modality || null }).then(
        (d) => live && (setSlides(d.slides), setError(null)),
        (e) => live && setError(e),
      );
    } else {
      const filter = {
        ...(debounced ? { name: debounced } : {}),
        ...(modality ? { modality } : {}),
        ...(slide ? { slide } : {}),
        ...(pairs.length ? { slideMetadata: pairs } : {}),
      };
      const prefetched = firstPage && after === null && Object.keys(filter).length === 0 ? firstPage : null;
      firstPage = null;
      const query = () => gql<ImagesData>(IMAGES_QUERY, { first: PAGE_SIZE, after, filter });
      (prefetched ? prefetched.catch(query) : query()).then(
        (d) => live && (setImages(d.images), setError(null)),
        (e) => live && setError(e),
      );
    }
    return () => {
      live = false;
    };
    // pairsKey stands for pairs (a new array of the same pairs is no new filter)
  }, [mode, debounced, modality, slide, pairsKey, after]);

  const addPair = () => {
    const p = parsePair(pairText);
    if (typeof p === 'string') return setPairError(p);
    setPairError(null);
    setPairText('');
    if (!pairs.some((q) => q.key === p.key && q.value === p.value)) setPairs([...pairs, p]);
  };

  /** A slide's "All N images": the Images list filtered by it (this component stays mounted across the two). */
  const showSlideImages = (s: SlideCard) => {
    if (!options.slides.some((o) => o.id === s.id)) setOptions({ ...options, slides: [...options.slides, { id: s.id, name: s.name }] });
    setSlide(s.id);
    setName('');
    setPairs([]);
    window.location.hash = '#/images';
  };

  const data = mode === 'slides' ? slides : images;
  const noun = mode === 'slides' ? 'slide' : 'image';
  const pageNo = cursors.length;
  const pages = data ? Math.max(1, Math.ceil(data.totalCount / PAGE_SIZE)) : 1;
  return (
    <section className="page">
      <div className="toolbar">
        <h1>{mode === 'slides' ? 'Slides' : 'Images'}</h1>
        <input
          type="search"
          placeholder={`Search ${noun}s by name`}
          aria-label="Search by name"
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <select aria-label="Modality" value={modality} onChange={(e) => setModality(e.target.value)} title={mode === 'slides' ? 'Show each slide by its image of this modality' : undefined}>
          <option value="">{mode === 'slides' ? 'Any modality' : 'All modalities'}</option>
          {options.modalities.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name} ({m.imageCount})
            </option>
          ))}
        </select>
        {mode === 'images' ? (
          <select aria-label="Slide" value={slide} onChange={(e) => setSlide(e.target.value)}>
            <option value="">All slides</option>
            {options.slides.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
            {options.slideCount > options.slides.length ? <option disabled>… search the Slides page for the other {options.slideCount - options.slides.length}</option> : null}
          </select>
        ) : null}
        <form
          className="pair-form"
          onSubmit={(e) => {
            e.preventDefault();
            addPair();
          }}
        >
          <input
            type="text"
            aria-label="Metadata filter"
            placeholder="slide metadata key = value"
            value={pairText}
            onChange={(e) => (setPairText(e.target.value), setPairError(null))}
          />
          <button type="submit">Add</button>
        </form>
        <span className="spacer" />
        <span className="muted" data-testid="image-count">
          {data ? `${data.totalCount} ${noun}${data.totalCount === 1 ? '' : 's'}` : '…'}
        </span>
      </div>
      {pairs.length || pairError ? (
        <div className="chips" aria-label="Metadata filters">
          {pairs.map((p) => (
            <span key={`${p.key}=${p.value}`} className="chip" data-testid="metadata-chip">
              {p.key} = {p.value || '""'}
              <button type="button" aria-label={`Remove ${p.key} = ${p.value}`} onClick={() => setPairs(pairs.filter((q) => q !== p))}>
                ×
              </button>
            </span>
          ))}
          {pairError ? (
            <span className="field-error" role="status">
              {pairError}
            </span>
          ) : null}
        </div>
      ) : null}
      <ErrorBox error={error} />
      {data && data.edges.length === 0 ? (
        <p className="empty">
          {pairs.length || debounced || modality || slide
            ? `No ${noun} matches these filters.`
            : mode === 'slides'
              ? 'No slides yet: ingest images with --slide NAME (cmir ingest FILES --modality NAME --slide NAME).'
              : 'No image matches. Ingest some with `cmir ingest FILES --modality NAME`.'}
        </p>
      ) : null}
      <ul className="grid">
        {mode === 'images'
          ? images?.edges.map(({ node: img }) => (
              <li key={img.id} className="card">
                <a href={`#/viewer/${encodeURIComponent(img.id)}`} title={`Open ${img.name} in the viewer`}>
                  <div className="thumb">
                    <img src={img.thumbnailDataUrl} alt={img.name} />
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
            ))
          : slides?.edges.map(({ node: s }, i) => <SlideCardView key={s.id} slide={s} eager={i < FIRST_SCREEN} showImages={() => showSlideImages(s)} />)}
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

function SlideCardView({ slide, eager, showImages }: { slide: SlideCard; eager: boolean; showImages: () => void }) {
  const cover = coverOf(slide);
  const meta = Object.entries(slide.metadata ?? {});
  const body = (
    <>
      <div className="thumb">{cover ? <AuthImg src={cover.thumbnailUrl} alt={slide.name} eager={eager} /> : <span className="muted">no image</span>}</div>
      <div className="caption">
        <strong>{slide.name}</strong>
        <span>
          {slide.images.totalCount} image{slide.images.totalCount === 1 ? '' : 's'}
          {cover ? ` · shown: ${cover.modality.name} ${cover.width}×${cover.height}` : ''}
        </span>
        {meta.length ? (
          <span className="meta-line" title={meta.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n')}>
            {meta.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')}
          </span>
        ) : null}
      </div>
    </>
  );
  return (
    <li className="card" data-testid="slide-card" data-slide={slide.id}>
      {cover ? (
        <a href={`#/viewer/${encodeURIComponent(cover.id)}`} title={`Open ${slide.name} in the viewer (${cover.name})`}>
          {body}
        </a>
      ) : (
        body
      )}
      {slide.images.totalCount > 0 ? (
        <button type="button" className="card-action" onClick={showImages}>
          All {slide.images.totalCount} image{slide.images.totalCount === 1 ? '' : 's'} →
        </button>
      ) : null}
    </li>
  );
}
