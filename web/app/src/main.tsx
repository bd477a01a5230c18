/**
 * The cmir review dashboard (docs/adr/0022), served by `cmir serve` at /: images, a deep-zoom viewer with link
 * footprints, the review queue, search and jobs, all from the GraphQL API at ./graphql.
 */
import { lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { apiKey } from './api.ts';
import { KeyDialog, ServerBanner, useKeyVersion, useRoute } from './components.tsx';
import { BrowsePage } from './pages/images.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { ReviewPage } from './pages/review.tsx';
import { SearchPage } from './pages/search.tsx';

/** The viewer (and OpenSeadragon, most of the bundle) loads when first opened, so the other pages start sooner. */
const ViewerPage = lazy(() => import('./pages/viewer.tsx').then((m) => ({ default: m.ViewerPage })));

const PAGES = [
  ['images', 'Images'],
  ['slides', 'Slides'],
  ['review', 'Review queue'],
  ['search', 'Search'],
  ['jobs', 'Jobs'],
] as const;

function App() {
  const [page, ...rest] = useRoute();
  useKeyVersion();
  return (
    <>
      <header className="top">
        <a className="brand" href="#/images">
          cmir
        </a>
        <nav>
          {PAGES.map(([id, label]) => (
            <a key={id} href={`#/${id}`} className={page === id ? 'active' : undefined}>
              {label}
            </a>
          ))}
          {page === 'viewer' ? <a className="active">Viewer</a> : null}
        </nav>
        <span className="spacer" />
        <a href="graphiql/" className="muted">
          GraphiQL
        </a>
        <button type="button" onClick={() => window.dispatchEvent(new Event('cmir:ask-key'))}>
          {apiKey.get() ? 'API key ✓' : 'API key'}
        </button>
      </header>
      <ServerBanner />
      <main>
        {page === 'viewer' && rest[0] ? (
          <Suspense fallback={<p className="muted">Loading the viewer…</p>}>
            <ViewerPage key={rest[0]} id={rest[0]} />
          </Suspense>
        ) : null}
        {page === 'review' ? <ReviewPage /> : null}
        {page === 'search' ? <SearchPage /> : null}
        {page === 'jobs' ? <JobsPage /> : null}
        {page === 'slides' || page === 'images' || !['viewer', 'review', 'search', 'jobs'].includes(page) ? <BrowsePage mode={page === 'slides' ? 'slides' : 'images'} /> : null}
      </main>
      <KeyDialog />
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
