/** The shapes the dashboard reads from the API (the fields its queries ask for). */

export interface ImageSummary {
  id: string;
  name: string;
  width: number;
  height: number;
  thumbnailUrl: string;
  modality: { name: string };
  slide: { id: string; name: string } | null;
}

export interface LinkFull {
  id: string;
  status: 'PROPOSED' | 'CONFIRMED' | 'REJECTED';
  score: number | null;
  method: string;
  region: unknown;
  transform: number[];
  createdAt: string;
  createdBy: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  source: ImageSummary;
  target: ImageSummary | null;
}

export const LINK_FIELDS = (image: string) =>
  `id status score method region transform createdAt createdBy decidedBy decidedAt source { ${image} } target { ${image} }`;
