/**
 * Review queue: proposed links one at a time, oldest first: the acquisition, the image it was matched to with its
 * footprint, and confirm / reject (keys c and r; arrows move). Who decided and when is shown once the server recorded
 * it. A failed decision leaves the item as it was, says why, and keeps the choice for a retry; the comment typed for
 * a link is kept in this tab (sessionStorage) until its decision is saved, so a refused key, the server gone, a
 * reload or a look at the viewer loses none of it. A decision that failed because the server was gone is sent again
 * when it answers.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, connection, gql, onConnectionChange } from '../api.ts';
import { AuthImg, ErrorBox, FootprintThumb, StatusBadge } from '../components.tsx';
import { parseRegion } from '../geometry.ts';
import { LINK_FIELDS, type LinkFull } from '../types.ts';

const REVIEW_IMAGE = 'id name width height thumbnailUrl(size: 512) modality { name } slide { id name }';
const QUEUE_SIZE = 100;

type Decision = 'CONFIRMED' | 'REJECTED';
type Reviewed = LinkFull & { comment: string | null };

/** The comment being typed for a link, kept in this tab until its decision is saved. */
const drafts = {
  key: (linkId: string) => `cmir.review.comment.${linkId}`,
  get: (linkId: string) => sessionStorage.getItem(drafts.key(linkId)) ?? '',
  set: (linkId: string, text: string) => (text ? sessionStorage.setItem(drafts.key(linkId), text) : sessionStorage.removeItem(drafts.key(linkId))),
};

export function ReviewPage() {
  const [items, setItems] = useState<Reviewed[] | null>(null);
  const [total, setTotal] = useState(0);
  const [index, setIndex] = useState(0);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [failure, setFailure] = useState<{ id: string; decision: Decision; error: unknown } | null>(null);
  const [busy, setBusy] = useState(false);
  /** The comment box of the current link (its draft). */
  const [comment, setComment] = useState('');

  useEffect(() => {
    gql<{ links: { totalCount: number; edges: { node: Reviewed }[] } }>(
      `query Queue($first: Int) { links(first: $first, filter: { status: PROPOSED }) { totalCount edges { node { ${LINK_FIELDS(REVIEW_IMAGE)} comment } } } }`,
      { first: QUEUE_SIZE },
    ).then(
      (d) => {
        setItems(d.links.edges.map((e) => e.node));
        setTotal(d.links.totalCount);
      },
      setLoadError,
    );
  }, []);

  const current = items?.[index] ?? null;
  const currentId = current?.id ?? null;
  // each link's own draft in the box
  useEffect(() => setComment(currentId ? drafts.get(currentId) : ''), [currentId]);
  const typeComment = (text: string) => {
    setComment(text);
    if (currentId) drafts.set(currentId, text);
  };
  const decide = useCallback(
    async (decision: Decision) => {
      if (!current || busy) return;
      setBusy(true);
      // what is in the box now: the draft, which stays until the server has the decision
      const text = drafts.get(current.id);
      try {
        const d = await gql<{ setLinkStatus: Pick<Reviewed, 'id' | 'status' | 'decidedBy' | 'decidedAt' | 'comment'> }>(
          'mutation Decide($input: SetLinkStatusInput!) { setLinkStatus(input: $input) { id status decidedBy decidedAt comment } }',
          { input: { id: current.id, status: decision, comment: text || null } },
        );
        setItems((all) => all && all.map((l) => (l.id === current.id ? { ...l, ...d.setLinkStatus } : l)));
        drafts.set(current.id, '');
        if (current.id === currentId) setComment('');
        setFailure(null);
      } catch (error) {
        setFailure({ id: current.id, decision, error });
      } finally {
        setBusy(false);
      }
    },
    [current, currentId, busy],
  );
  // a decision that failed because the server was gone is sent again when it answers
  useEffect(
    () =>
      onConnectionChange(() => {
        if (connection.down === null && failure && failure.error instanceof ApiError && failure.error.code === 'SERVER_UNREACHABLE' && failure.id === currentId) void decide(failure.decision);
      }),
    [failure, currentId, decide],
  );
  const move = useCallback((by: number) => items && setIndex((i) => Math.min(items.length - 1, Math.max(0, i + by))), [items]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.ctrlKey || e.metaKey || e.altKey || t?.closest('input, textarea, select, [role="dialog"]')) return;
      if (e.key === 'c') void decide('CONFIRMED');
      else if (e.key === 'r') void decide('REJECTED');
      else if (e.key === 'ArrowRight' || e.key === 'ArrowDown') move(1);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') move(-1);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [decide, move]);

  if (loadError) return <ErrorBox error={loadError} />;
  if (!items) return <p className="muted">Loading the review queue…</p>;
  const decided = items.filter((l) => l.status !== 'PROPOSED').length;
  return (
    <section className="page">
      <div className="toolbar">
        <h1>Review queue</h1>
        <span className="muted" data-testid="queue-position">
          {items.length ? `${index + 1} of ${items.length}` : 'empty'}
          {total > items.length ? ` (first ${items.length} of ${total} proposed)` : ''} · {decided} decided here
        </span>
        <span className="spacer" />
        <span className="hint">
          <kbd>c</kbd> confirm · <kbd>r</kbd> reject · <kbd>←</kbd> <kbd>→</kbd> move
        </span>
      </div>
      {!current ? (
        <p className="empty">No proposed links to review. Propose some from Search, or with `cmir link add`.</p>
      ) : (
        <div className="review" data-testid="review-item" data-link={current.id}>
          <div className="pane">
            <h2>
              {current.source.name} <span className="muted">{current.source.modality.name} · the acquisition</span>
            </h2>
            <div className="thumb-box">
              <AuthImg src={current.source.thumbnailUrl} alt={current.source.name} />
            </div>
          </div>
          <div className="pane">
            <h2>
              {current.target?.name ?? '(slide)'}{' '}
              <span className="muted">
                {current.target?.modality.name}
                {current.target?.slide ? ` · slide ${current.target.slide.name}` : ''} · where it was found
              </span>
            </h2>
            {current.target ? (
              <FootprintThumb
                thumb={current.target.thumbnailUrl}
                width={current.target.width}
                height={current.target.height}
                alt={current.target.name}
                polygons={(() => {
                  const poly = parseRegion(current.region);
                  return poly ? [{ poly, status: current.status }] : [];
                })()}
              />
            ) : null}
          </div>
          <div className="pane decision">
            <p>
              <StatusBadge status={current.status} />
            </p>
            <dl className="meta">
              <dt>method</dt>
              <dd>{current.method}</dd>
              <dt>score</dt>
              <dd>{current.score?.toFixed(3) ?? '—'}</dd>
              <dt>proposed</dt>
              <dd>
                {current.createdBy ?? '?'}, {new Date(current.createdAt).toLocaleString()}
              </dd>
            </dl>
            {current.decidedBy ? (
              <p className="notice" data-testid="decided">
                {current.status === 'CONFIRMED' ? 'Confirmed' : current.status === 'REJECTED' ? 'Rejected' : 'Reopened'} by <strong>{current.decidedBy}</strong>
                {current.decidedAt ? `, ${new Date(current.decidedAt).toLocaleString()}` : ''}
                {current.comment ? <span className="saved-comment" data-testid="saved-comment">“{current.comment}”</span> : null}
              </p>
            ) : null}
            <label className="hint" htmlFor="review-comment">
              Comment with the decision (optional; kept in this tab until saved)
            </label>
            <textarea id="review-comment" aria-label="Review comment" value={comment} maxLength={2000} onChange={(e) => typeComment(e.target.value)} />
            {failure && failure.id === current.id ? (
              <ErrorBox error={failure.error}>
                <div className="row" style={{ marginTop: 6 }}>
                  <span>
                    Not saved: {failure.decision === 'CONFIRMED' ? 'confirm' : 'reject'}
                    {comment ? ' and the comment are' : ' is'} kept
                    {failure.error instanceof ApiError && failure.error.code === 'SERVER_UNREACHABLE' ? ', and sent again when the server answers' : ''}.
                  </span>
                  <button type="button" onClick={() => void decide(failure.decision)}>
                    Retry
                  </button>
                </div>
              </ErrorBox>
            ) : null}
            <div className="row">
              <button type="button" className="confirm" disabled={busy} onClick={() => void decide('CONFIRMED')}>
                Confirm (c)
              </button>
              <button type="button" className="reject" disabled={busy} onClick={() => void decide('REJECTED')}>
                Reject (r)
              </button>
            </div>
            <div className="row" style={{ marginTop: 10 }}>
              <button type="button" disabled={index === 0} onClick={() => move(-1)}>
                ← Previous
              </button>
              <button type="button" disabled={index >= items.length - 1} onClick={() => move(1)}>
                Next →
              </button>
            </div>
            {current.target ? (
              <p>
                <a href={`#/viewer/${encodeURIComponent(current.target.id)}`}>Open {current.target.name} in the viewer →</a>
              </p>
            ) : null}
          </div>
        </div>
      )}
    </section>
  );
}
