/**
 * Viewer: an image in OpenSeadragon with its links drawn as footprints coloured by review status. Clicking a footprint
 * (or a link in the list) opens the other image beside it; "blend" lays the other image over this one instead,
 * warped by the link's transform (an SVG <image> under matrix(), in this image's pixels).
 */
import { useEffect, useMemo, useState } from 'react';
import { gql } from '../api.ts';
import { AuthImg, ErrorBox, StatusBadge, useImageSrc, useKeyVersion } from '../components.tsx';
import { DeepZoom } from '../deep-zoom.tsx';
import { hitPolygon, invertAffine, parseRegion, type Polygon, rectPolygon, STATUS_COLOURS, svgMatrix, svgPoints } from '../geometry.ts';
import { type ImageSummary, LINK_FIELDS, type LinkFull } from '../types.ts';

export const VIEW_IMAGE = 'id name width height tileSource thumbnailUrl(size: 1024) modality { name } slide { id name }';

interface ViewImage extends ImageSummary {
  tileSource: string;
  micronsPerPixel: number | null;
  createdAt: string;
  links: (LinkFull & { source: ViewImage; target: ViewImage | null })[];
}

export function ViewerPage({ id }: { id: string }) {
  const [image, setImage] = useState<ViewImage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [blend, setBlend] = useState(false);
  const [opacity, setOpacity] = useState(0.6);
  const keyVersion = useKeyVersion();

  useEffect(() => {
    gql<{ image: ViewImage | null }>(`query Viewer($id: ID!) { image(id: $id) { ${VIEW_IMAGE} micronsPerPixel createdAt links { ${LINK_FIELDS(VIEW_IMAGE)} } } }`, { id }).then(
      (d) => (d.image ? (setImage(d.image), setError(null)) : setError(new Error(`There is no image ${id}.`))),
      setError,
    );
  }, [id, keyVersion]);

  /** Each link's footprint on this image: the region where this is the target, none where this is the source. */
  const footprints: (Polygon | null)[] = useMemo(() => image?.links.map((l) => (l.target?.id === image.id ? parseRegion(l.region) : null)) ?? [], [image]);
  const link = image?.links.find((l) => l.id === selected) ?? null;
  /** The other image of the selected link, and the transform from its pixels to this image's. */
  const other = link && image ? (link.target?.id === image.id ? link.source : link.target) : null;
  const toHere = useMemo(() => {
    if (!link || !image) return null;
    try {
      return link.target?.id === image.id ? link.transform : invertAffine(link.transform);
    } catch {
      return null;
    }
  }, [link, image]);

  if (!image) return <section className="page">{error ? <ErrorBox error={error} /> : <p className="muted">Loading…</p>}</section>;
  const split = other !== null && !blend;
  return (
    <section>
      <div className="toolbar">
        <h1>{image.name}</h1>
        <span className="muted">
          {image.modality.name}
          {image.slide ? ` · slide ${image.slide.name}` : ''} · {image.width}×{image.height} px
        </span>
        <span className="spacer" />
        <div className="legend">
          {Object.entries(STATUS_COLOURS).map(([s, c]) => (
            <span key={s}>
              <i style={{ background: c }} />
              {s.toLowerCase()}
            </span>
          ))}
        </div>
        <a href={`#/search?image=${encodeURIComponent(image.id)}`}>Search with this image →</a>
      </div>
      <ErrorBox error={error} />
      <div className={`viewer-layout${split ? ' split' : ''}`}>
        <DeepZoom
          testId="main-viewer"
          tileSource={image.tileSource}
          width={image.width}
          height={image.height}
          label={image.name}
          onImageClick={(p) => {
            const i = hitPolygon(p, footprints);
            if (i >= 0) setSelected(image.links[i].id);
          }}
        >
          {blend && other && toHere ? <BlendedImage other={other} transform={toHere} opacity={opacity} /> : null}
          {image.links.map((l, i) => {
            const poly = footprints[i];
            return poly ? (
              <polygon
                key={l.id}
                className={`footprint${l.id === selected ? ' selected' : ''}`}
                data-status={l.status}
                data-link={l.id}
                points={svgPoints(poly)}
                stroke={STATUS_COLOURS[l.status]}
                vectorEffect="non-scaling-stroke"
              />
            ) : null;
          })}
          {/* where this image is a source: its own outline, for the image it was taken from */}
          {link && link.source.id === image.id ? <polygon className="footprint selected" data-status={link.status} points={svgPoints(rectPolygon({ x: 0, y: 0, width: image.width, height: image.height }))} stroke={STATUS_COLOURS[link.status]} vectorEffect="non-scaling-stroke" /> : null}
        </DeepZoom>
        {split && other ? <DeepZoom key={other.id} testId="linked-viewer" tileSource={other.tileSource} width={other.width} height={other.height} label={`${other.name} (linked)`} /> : null}
        <aside className="side">
          <h2>
            Links <span className="muted">({image.links.length})</span>
          </h2>
          {image.links.length === 0 ? <p className="muted">No links yet: search with this image, or review proposed links.</p> : null}
          <ul>
            {image.links.map((l) => {
              const o = l.target?.id === image.id ? l.source : l.target;
              return (
                <li key={l.id}>
                  <button type="button" className={`link-item${l.id === selected ? ' selected' : ''}`} onClick={() => setSelected(l.id === selected ? null : l.id)}>
                    <StatusBadge status={l.status} /> {l.target?.id === image.id ? 'from' : 'to'} <strong>{o?.name ?? '(slide)'}</strong>
                    <div className="hint">
                      {l.method}
                      {l.score !== null ? ` · score ${l.score.toFixed(3)}` : ''}
                    </div>
                  </button>
                </li>
              );
            })}
          </ul>
          {link && other ? (
            <div style={{ marginTop: 12 }}>
              <h2>Selected link</h2>
              <div className="thumb-box">
                <AuthImg src={other.thumbnailUrl} alt={other.name} />
              </div>
              <dl className="meta">
                <dt>status</dt>
                <dd>
                  <StatusBadge status={link.status} />
                </dd>
                <dt>proposed</dt>
                <dd>
                  {link.createdBy ?? '?'}, {new Date(link.createdAt).toLocaleString()}
                </dd>
                {link.decidedBy ? (
                  <>
                    <dt>decided</dt>
                    <dd>
                      {link.decidedBy}, {link.decidedAt ? new Date(link.decidedAt).toLocaleString() : ''}
                    </dd>
                  </>
                ) : null}
                <dt>transform</dt>
                <dd>
                  <code>[{link.transform.map((v) => +v.toFixed(3)).join(', ')}]</code>
                </dd>
              </dl>
              <div className="row">
                <label>
                  <input type="checkbox" checked={blend} disabled={!toHere} onChange={(e) => setBlend(e.target.checked)} /> Blend over this image
                </label>
                {blend ? <input type="range" aria-label="Opacity" min={0.1} max={1} step={0.05} value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} /> : null}
              </div>
              <p>
                <a href={`#/viewer/${encodeURIComponent(other.id)}`}>Open {other.name} in the viewer →</a>
              </p>
            </div>
          ) : null}
        </aside>
      </div>
    </section>
  );
}

/** The other image of a link (its 1024 px thumbnail, drawn at its full pixel size) warped into this image's pixels. */
function BlendedImage({ other, transform, opacity }: { other: ViewImage; transform: readonly number[]; opacity: number }) {
  const href = useImageSrc(other.thumbnailUrl);
  if (!href || href === 'failed') return null;
  return <image className="blended" href={href} width={other.width} height={other.height} preserveAspectRatio="none" transform={svgMatrix(transform)} opacity={opacity} />;
}
