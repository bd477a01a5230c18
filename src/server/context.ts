import DataLoader from 'dataloader';
import type { App, Services } from '../app.ts';
import type { AuditEvent, Image, Link, Modality, Slide } from '../db/generated/client.ts';
import type { Principal } from '../services/auth.ts';
import type { LinkCounts } from '../db/link.repository.ts';
import type { VocabularyInfo } from '../db/vocabulary.repository.ts';

/** Per-request loaders: batch the N+1 reads of a result list into one query each (Apollo's advice: new per request). */
export interface Loaders {
  image: DataLoader<number, Image | null>;
  slide: DataLoader<number, Slide | null>;
  modality: DataLoader<number, Modality | null>;
  /** Images per modality id. */
  imageCount: DataLoader<number, number>;
  /** CoMIR model name per modality id. */
  modelName: DataLoader<number, string | null>;
  vocabulary: DataLoader<number, VocabularyInfo | null>;
  /** Links from or to an image, newest first. */
  imageLinks: DataLoader<number, Link[]>;
  /** Links onto a slide, newest first. */
  slideLinks: DataLoader<number, Link[]>;
  /** Links per status onto a slide. */
  slideLinkCounts: DataLoader<number, LinkCounts>;
  /** Audit events of a link, oldest first. */
  linkHistory: DataLoader<number, AuditEvent[]>;
}

export interface Context {
  services: Services;
  loaders: Loaders;
  /** Base URL of this server (for absolute thumbnail URLs), e.g. http://localhost:4000. */
  baseUrl: string;
  /**
   * Who sent the request (src/services/auth.ts): a key, anonymous, or an invalid key. Checked once per operation
   * (src/server/auth-plugin.ts) and per mutation by its role (src/resolvers/mutation-roles.ts).
   */
  principal: Principal;
  /**
   * The largest upload this server reads: its CMIR_MAX_UPLOAD_BYTES, which its multipart parser enforces too, so that
   * the resolvers refuse at the same limit and name it (resolvers/upload.ts).
   */
  maxUploadBytes: number;
}

/** Loads rows by id and returns them in key order; a missing id gives null (never a misplaced row). */
function byId<T extends { id: number }>(load: (ids: readonly number[]) => Promise<T[]>): DataLoader<number, T | null> {
  return new DataLoader(async (ids) => {
    const rows = new Map((await load(ids)).map((r) => [r.id, r]));
    return ids.map((id) => rows.get(id) ?? null);
  });
}

export function createContext(app: App, baseUrl: string, principal: Principal): Context {
  const { repos } = app;
  return {
    services: app.services,
    baseUrl,
    principal,
    maxUploadBytes: app.config.maxUploadBytes,
    loaders: {
      image: byId((ids) => repos.images.findManyByIds(ids)),
      slide: byId((ids) => repos.slides.findManyByIds(ids)),
      modality: byId((ids) => repos.modalities.findManyByIds(ids)),
      imageCount: new DataLoader(async (ids) => {
        const counts = await repos.images.countByModality(ids);
        return ids.map((id) => counts.get(id) ?? 0);
      }),
      modelName: new DataLoader(async (ids) => {
        const names = await repos.modalities.modelNames(ids);
        return ids.map((id) => names.get(id) ?? null);
      }),
      vocabulary: byId((ids) => repos.vocabularies.findManyByIds(ids)),
      imageLinks: new DataLoader(async (ids) => {
        const links = await repos.links.forImages(ids);
        return ids.map((id) => links.filter((l) => l.sourceId === id || l.targetImageId === id));
      }),
      slideLinks: new DataLoader(async (ids) => {
        const links = await repos.links.forSlides(ids);
        return ids.map((id) => links.filter((l) => l.targetSlideId === id));
      }),
      slideLinkCounts: new DataLoader(async (ids) => {
        const counts = await app.services.links.countsForSlides(ids);
        return ids.map((id) => counts.get(id)!);
      }),
      linkHistory: new DataLoader(async (ids) => {
        const events = await repos.audit.forTargets('Link', ids);
        return ids.map((id) => events.filter((e) => e.targetId === id));
      }),
    },
  };
}
