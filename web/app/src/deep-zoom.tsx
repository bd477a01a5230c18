/**
 * An image in OpenSeadragon on its IIIF Image API 3.0 tiles (`Image.tileSource`, OpenSeadragon reads info.json
 * itself), with an SVG in the image's own pixels laid over it as one OpenSeadragon overlay covering the whole image:
 * OpenSeadragon moves and scales the overlay with the image, and the SVG's viewBox (0 0 width height) makes its
 * children's coordinates image pixels, so footprints and warped images need no per-frame arithmetic. Its children are
 * rendered into that SVG through a portal. Clicks on the image are reported in image pixels.
 */
import OpenSeadragon from 'openseadragon';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { apiKey, authHeaders } from './api.ts';
import type { Point } from './geometry.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';

export function DeepZoom({
  tileSource,
  width,
  height,
  label,
  onImageClick,
  children,
  testId,
}: {
  tileSource: string;
  width: number;
  height: number;
  label?: string;
  onImageClick?: (p: Point) => void;
  children?: ReactNode;
  testId?: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [svg, setSvg] = useState<SVGSVGElement | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const click = useRef(onImageClick);
  click.current = onImageClick;

  useEffect(() => {
    const key = apiKey.get();
    const viewer = OpenSeadragon({
      element: host.current!,
      prefixUrl: 'app/osd/',
      tileSources: tileSource,
      // the canvas drawer: the same pixels everywhere, headless browsers included (WebGL may be missing there)
      drawer: 'canvas',
      showNavigator: true,
      navigatorPosition: 'BOTTOM_RIGHT',
      // a click selects a footprint; zoom is the wheel, a double click or the buttons
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
      // with a key, tiles and info.json go through XHR with the header (an <img> cannot send one)
      loadTilesWithAjax: key !== null,
      ajaxHeaders: authHeaders(),
      visibilityRatio: 0.5,
      minZoomImageRatio: 0.5,
      maxZoomPixelRatio: 4,
    });
    const overlay = document.createElementNS(SVG_NS, 'svg');
    overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
    overlay.setAttribute('preserveAspectRatio', 'none');
    overlay.setAttribute('class', 'osd-svg');
    viewer.addHandler('open', () => {
      viewer.addOverlay({ element: overlay as unknown as HTMLElement, location: viewer.viewport.imageToViewportRectangle(0, 0, width, height) });
      setSvg(overlay);
    });
    viewer.addHandler('open-failed', (e) => setFailed(`The tiles of this image could not be opened: ${(e as unknown as { message?: string }).message ?? 'unknown error'}`));
    viewer.addHandler('canvas-click', (e) => {
      if (!e.quick || !click.current) return;
      const p = viewer.viewport.viewerElementToImageCoordinates(e.position);
      click.current([p.x, p.y]);
    });
    return () => {
      setSvg(null);
      viewer.destroy();
    };
  }, [tileSource, width, height]);

  return (
    <div className="osd" data-testid={testId}>
      <div ref={host} style={{ position: 'absolute', inset: 0 }} />
      {label ? <div className="osd-label">{label}</div> : null}
      {failed ? <div className="error" style={{ position: 'absolute', left: 8, right: 8, top: 36 }}>{failed}</div> : null}
      {svg ? createPortal(children, svg) : null}
    </div>
  );
}
