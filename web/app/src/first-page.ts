/**
 * The Images grid's first page, asked for before the dashboard's bundle runs.
 *
 * `app/first.js` (this file's `startFirstPage`, bundled on its own: about 1 KB, no imports) is an async script at the
 * top of the page: it sends the grid's first query as soon as it arrives, while the browser still fetches and parses
 * app.js. Sent from the bundle instead, the query left only after React had been parsed and run: 662 ms after the
 * navigation against a bundle that arrived at 322 ms, on the loaded 2-core machine of bench/results/ui.md. The grid
 * (pages/images.tsx) takes the answer once through `takeFirstPage`; anything but data (no key yet, a refused key, the
 * server gone) is thrown away there and the page asks again through api.ts, which handles each of those.
 */

export const PAGE_SIZE = 24;

/**
 * The grid's thumbnails come inline (Image.thumbnailDataUrl): 24 thumbnail requests through Chromium's 6 connections
 * per host were the largest part of the first paint (bench/results/ui.md, "where a warm first paint's time went").
 */
export const IMAGES_QUERY = `query Images($first: Int, $after: String, $filter: ImageFilter) { images(first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id name width height thumbnailDataUrl(size: 256) modality { name } slide { id name } } } } }`;

/** sessionStorage's item holding the tab's API key (api.ts reads and writes it). */
export const KEY_ITEM = 'cmir.apiKey';

/** Where the early request waits for the grid: a property of the window, the only thing the two bundles share. */
const SLOT = '__cmirFirstPage';

/** Whether the tab opens on the Images grid (#/images, #/, no hash), the one page the early request is for. */
export function opensOnGrid(hash: string): boolean {
  return /^#?\/?(images)?(\?.*)?$/.test(hash);
}

/** Sends the first page's query when the tab opens on the grid; the answer's JSON waits in the window's slot. */
export function startFirstPage(): void {
  if (!opensOnGrid(window.location.hash)) return;
  let key: string | null = null;
  try {
    key = sessionStorage.getItem(KEY_ITEM);
  } catch {
    // storage refused (a sandboxed frame): no key, as on a first visit
  }
  const body = JSON.stringify({ query: IMAGES_QUERY, variables: { first: PAGE_SIZE, after: null, filter: {} } });
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const answer = fetch('graphql', { method: 'POST', headers, body }).then((res) => (res.ok ? res.json() : null));
  answer.catch(() => {});
  (window as unknown as Record<string, unknown>)[SLOT] = { key, answer };
}

/**
 * The early answer's data, once: rejects unless it came with data and no error for the key the tab holds now (the
 * caller then asks through api.ts). Null when no early request was sent.
 */
export function takeFirstPage<T>(currentKey: string | null): Promise<T> | null {
  const slot = (window as unknown as Record<string, unknown>)[SLOT] as { key: string | null; answer: Promise<{ data?: T; errors?: unknown[] } | null> } | undefined;
  if (!slot) return null;
  delete (window as unknown as Record<string, unknown>)[SLOT];
  if (slot.key !== currentKey) return null;
  return slot.answer.then((body) => {
    if (!body?.data || body.errors?.length) throw new Error('the early first page came without data');
    return body.data;
  });
}
