/** Small pieces every page uses: a thumbnail that sends the key, a footprint over it, an error box, the key dialog. */
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { ApiError, apiKey, connection, imageUrl, onConnectionChange, onKeyChange, RECONNECT_MS, setKeyPrompt } from './api.ts';
import { type Polygon, STATUS_COLOURS, svgPoints } from './geometry.ts';

/** Re-renders when the key of this tab changes (images fetched with it load again). */
export function useKeyVersion(): number {
  const [v, setV] = useState(0);
  useEffect(() => onKeyChange(() => setV((x) => x + 1)), []);
  return v;
}

/**
 * The URL to show an image of this server (thumbnail, tile) with the key of this tab: the URL itself, or a blob: URL
 * of it fetched with the key; null while loading, 'failed' when it could not be loaded.
 */
export function useImageSrc(src: string): string | null | 'failed' {
  const keyVersion = useKeyVersion();
  // without a key the URL itself, from the first render: the browser asks for it at once (the grid's first paint)
  const [url, setUrl] = useState<string | null | 'failed'>(() => (apiKey.get() ? null : src));
  useEffect(() => {
    let revoke = () => {};
    let live = true;
    if (!apiKey.get()) {
      setUrl(src);
      return;
    }
    setUrl(null);
    imageUrl(src).then(
      (u) => {
        if (live) setUrl(u.src);
        revoke = u.revoke;
      },
      () => live && setUrl('failed'),
    );
    return () => {
      live = false;
      revoke();
    };
  }, [src, keyVersion]);
  return url;
}

/** An image of this server shown with the key of this tab. */
export function AuthImg({ src, alt, className, eager }: { src: string; alt: string; className?: string; eager?: boolean }) {
  const url = useImageSrc(src);
  const [failed, setFailed] = useState(false);
  if (failed || url === 'failed') return <div className={`img-failed ${className ?? ''}`}>image unavailable</div>;
  // lazy unless on the first screen: Chromium defers a lazy image until layout shows it near the viewport
  return url ? (
    <img src={url} alt={alt} className={className} loading={eager ? 'eager' : 'lazy'} fetchPriority={eager ? 'high' : 'auto'} onError={() => setFailed(true)} />
  ) : (
    <div className={`img-loading ${className ?? ''}`} />
  );
}

/**
 * A thumbnail with polygons drawn over it in the image's own pixels: the SVG's viewBox is the image's full size, so
 * the polygons scale with the thumbnail whatever size it is shown at.
 */
export function FootprintThumb({ thumb, width, height, polygons, alt }: { thumb: string; width: number; height: number; polygons: { poly: Polygon; status?: string; label?: string }[]; alt: string }) {
  return (
    <div className="footprint-thumb" style={{ aspectRatio: `${width} / ${height}` }}>
      <AuthImg src={thumb} alt={alt} />
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" aria-label={`${polygons.length} footprint(s)`}>
        {polygons.map((p, i) => (
          <polygon
            key={i}
            className="footprint"
            data-status={p.status ?? 'MATCH'}
            points={svgPoints(p.poly)}
            stroke={STATUS_COLOURS[p.status ?? ''] ?? '#29a3ff'}
            vectorEffect="non-scaling-stroke"
          >
            {p.label ? <title>{p.label}</title> : null}
          </polygon>
        ))}
      </svg>
    </div>
  );
}

export function ErrorBox({ error, children }: { error: unknown; children?: ReactNode }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div className="error" role="alert">
      {e ? <code>{e.code}</code> : null} {error instanceof Error ? error.message : String(error)}
      {children}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className="badge" style={{ background: STATUS_COLOURS[status] ?? '#888' }}>
      {status.toLowerCase()}
    </span>
  );
}

/**
 * The API-key dialog: opened by a request answered 401 (api.ts asks through setKeyPrompt) or by the header's button;
 * the key is kept in sessionStorage until the tab is closed. What the person typed stays in the field on a refusal.
 */
export function KeyDialog() {
  const [ask, setAsk] = useState<{ reason: string; resolve: (k: string | null) => void } | null>(null);
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const pending: ((k: string | null) => void)[] = [];
    setKeyPrompt(
      (reason) =>
        new Promise((resolve) => {
          pending.push(resolve);
          // every request waiting for a key gets the one typed once
          setAsk({ reason, resolve: (k) => pending.splice(0).forEach((r) => r(k)) });
        }),
    );
    const open = () => setAsk({ reason: 'Enter the API key this tab sends (cmir keys create NAME --role curator).', resolve: () => {} });
    window.addEventListener('cmir:ask-key', open);
    return () => {
      setKeyPrompt(null);
      window.removeEventListener('cmir:ask-key', open);
    };
  }, []);
  useEffect(() => {
    if (ask) input.current?.focus();
  }, [ask]);
  if (!ask) return null;
  const submit = (key: string | null) => {
    if (key !== null) apiKey.set(key.trim() || null);
    ask.resolve(key?.trim() || null);
    setAsk(null);
  };
  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-label="API key"
        onSubmit={(e) => {
          e.preventDefault();
          submit(value);
        }}
      >
        <h2>API key</h2>
        <p>{ask.reason}</p>
        <input ref={input} type="password" name="apiKey" placeholder="cmir_…" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
        <p className="hint">Kept in this tab only (sessionStorage) until it is closed.</p>
        <div className="row">
          <button type="submit" className="primary">
            Use this key
          </button>
          <button type="button" onClick={() => submit(null)}>
            Cancel
          </button>
          {apiKey.get() ? (
            <button type="button" onClick={() => (apiKey.set(null), setValue(''))}>
              Forget the key
            </button>
          ) : null}
        </div>
      </form>
    </div>
  );
}

/** Re-renders when the server goes or comes back; true while it does not answer. */
export function useServerDown(): boolean {
  const [, setV] = useState(0);
  useEffect(() => onConnectionChange(() => setV((x) => x + 1)), []);
  return connection.down !== null;
}

/** The banner at the top of every page while the server does not answer: since when, and that it is asked again. */
export function ServerBanner() {
  const down = useServerDown();
  if (!down || !connection.down) return null;
  return (
    <div className="server-banner" role="alert" data-testid="server-banner">
      <strong>The cmir server does not answer</strong> (since {connection.down.toLocaleTimeString()}): asking again every {RECONNECT_MS / 1000} s
      {connection.attempts ? ` (${connection.attempts} tried)` : ''}. Nothing you typed here is lost; a review decision not saved is sent again when
      it answers.
    </div>
  );
}

/** Hash routes: #/images, #/viewer/<id>, #/review, #/search, #/jobs (the server serves one page). */
export function useRoute(): string[] {
  const parse = () => (window.location.hash.replace(/^#\/?/, '') || 'images').split('?')[0].split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The query string of the hash route (#/search?image=ID). */
export function routeParams(): URLSearchParams {
  return new URLSearchParams(window.location.hash.split('?')[1] ?? '');
}
