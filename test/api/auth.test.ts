/**
 * Issue 19: API keys with roles, anonymous access, and the audit trail of links, over HTTP as a client sends them.
 * Every mutation is refused for anonymous (UNAUTHENTICATED) and for a reader (FORBIDDEN), and passes for its role.
 */
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toGlobalId } from '../../src/ids.ts';
import { MUTATION_POLICY, type MutationName } from '../../src/resolvers/mutation-roles.ts';
import { resolvers } from '../../src/resolvers/index.ts';
import { loadTypeDefs, type RunningServer, startServer } from '../../src/server/server.ts';
import { cliActor, ROLES, type Role } from '../../src/services/auth.ts';
import { hashKey } from '../../src/services/key.service.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { createKey } from '../helpers/auth.ts';
import { makeImage } from '../helpers/images.ts';

let app: TestApp;
let server: RunningServer;
const keys = {} as Record<Role, string>;
let source: string;
let target: string;

beforeAll(async () => {
  app = await createTestApp();
  // loopback and CMIR_ANONYMOUS unset: anonymous requests may run queries
  server = await startServer(app, 0, '127.0.0.1');
  for (const role of ROLES) keys[role] = await createKey(app, role, `the-${role}`);
  const a = await app.services.images.ingest({ data: await makeImage({ seed: 1 }), fileName: 'a.png', modality: 'SHG' });
  const b = await app.services.images.ingest({ data: await makeImage({ seed: 2 }), fileName: 'b.png', modality: 'BF', slide: 'S-1' });
  source = toGlobalId('Image', a.id);
  target = toGlobalId('Image', b.id);
});
afterAll(async () => {
  await app?.services.jobs.drain();
  await server?.stop();
  await app?.close();
});

interface Answer {
  status: number;
  data?: any;
  errors?: { message: string; extensions: { code: string } & Record<string, unknown> }[];
}

async function post(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}, url = server.url): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as object) };
}
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let n = 0;
/**
 * One document per mutation, valid GraphQL with arguments that reach the resolver. Typed by MutationName: a new
 * mutation does not compile until it is listed here, and so is tested for its role.
 */
const MUTATIONS: Record<MutationName, () => Promise<{ query: string; variables?: Record<string, unknown> }>> = {
  _empty: async () => ({ query: 'mutation { _empty }' }),
  createSlide: async () => ({ query: `mutation { createSlide(input: { name: "auth-${++n}" }) { id } }` }),
  updateSlideMetadata: async () => {
    const slide = await app.services.slides.create({ name: `auth-${++n}` });
    return { query: 'mutation($id: ID!) { updateSlideMetadata(input: { id: $id, metadata: { a: 1 } }) { id } }', variables: { id: toGlobalId('Slide', slide.id) } };
  },
  // no CMIR_INGEST_ROOTS: BAD_USER_INPUT, after the role check
  ingestImage: async () => ({ query: 'mutation { ingestImage(input: { modality: "SHG", path: "/nowhere.png" }) { id } }' }),
  queueImageIngestion: async () => ({ query: 'mutation { queueImageIngestion(input: { modality: "SHG", path: "/nowhere.png" }) { id } }' }),
  linkAcquisition: async () => ({ query: 'mutation($s: ID!, $t: ID!) { linkAcquisition(input: { source: $s, target: $t }) { id } }', variables: { s: source, t: target } }),
  setLinkStatus: async () => {
    const link = await app.services.links.link({ sourceId: 1, targetId: 2 }, { keyId: null, name: 'test' });
    return { query: 'mutation($id: ID!) { setLinkStatus(input: { id: $id, status: CONFIRMED }) { id } }', variables: { id: toGlobalId('Link', link.id) } };
  },
  createModality: async () => ({ query: `mutation { createModality(input: { name: "M${++n}" }) { id } }` }),
  registerModel: async () => ({ query: 'mutation { registerModel(input: { dir: "/nowhere" }) { id } }' }),
  buildVocabulary: async () => ({ query: 'mutation { buildVocabulary(input: { modality: "NOPE" }) { id } }' }),
  reindex: async () => ({ query: 'mutation { reindex(input: { modality: "NOPE" }) { id } }' }),
  cancelJob: async () => ({ query: 'mutation($id: ID!) { cancelJob(id: $id) { id } }', variables: { id: toGlobalId('Job', 99_999) } }),
  deleteImage: async () => ({ query: 'mutation($id: ID!) { deleteImage(id: $id) { deletedId } }', variables: { id: toGlobalId('Image', 99_999) } }),
  createApiKey: async () => ({ query: `mutation { createApiKey(input: { name: "k${++n}", role: READER }) { secret key { id } } }` }),
  revokeApiKey: async () => ({ query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', variables: { id: toGlobalId('ApiKey', 99_999) } }),
};

describe('roles', () => {
  test('every field of the Mutation type has a role, and every Mutation resolver is guarded by it', async () => {
    const fields = Object.keys(buildSchema(await loadTypeDefs()).getMutationType()!.getFields()).sort();
    expect(Object.keys(MUTATION_POLICY).sort()).toEqual(fields);
    expect(Object.keys(MUTATIONS).sort()).toEqual(fields);
    // resolvers exist only for fields with a policy (guardMutations throws at start-up otherwise)
    for (const name of Object.keys(resolvers.Mutation as object)) expect(fields).toContain(name);
    // the assignment
    const byRole = (role: Role) => Object.entries(MUTATION_POLICY).filter(([, p]) => p.role === role).map(([name]) => name).sort();
    expect(byRole('reader')).toEqual([]);
    expect(byRole('curator')).toEqual(['createSlide', 'ingestImage', 'linkAcquisition', 'queueImageIngestion', 'setLinkStatus', 'updateSlideMetadata']);
  });

  for (const name of Object.keys(MUTATION_POLICY) as MutationName[]) {
    const need = MUTATION_POLICY[name].role;
    test(`${name}: anonymous UNAUTHENTICATED (401), reader FORBIDDEN, ${need === 'admin' ? 'curator FORBIDDEN, ' : ''}${need} allowed`, async () => {
      const anonymous = await post(...args(await MUTATIONS[name]()));
      expect(anonymous.status).toBe(401);
      expect(anonymous.data).toBeUndefined();
      expect(anonymous.errors![0].extensions.code).toBe('UNAUTHENTICATED');

      const below = ROLES.slice(0, ROLES.indexOf(need));
      for (const role of below) {
        const refused = await post(...args(await MUTATIONS[name](), bearer(keys[role])));
        expect(refused.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', requiredRole: need, role });
        expect(refused.errors![0].message).toContain(`needs the ${need} role`);
      }
      for (const role of ROLES.slice(ROLES.indexOf(need))) {
        const allowed = await post(...args(await MUTATIONS[name](), bearer(keys[role])));
        // past the role check: done, or refused for its arguments (a missing id or path), never for who asks
        for (const e of allowed.errors ?? []) expect(['UNAUTHENTICATED', 'FORBIDDEN']).not.toContain(e.extensions.code);
      }
    });
  }

  test('allowed for the right role means done: a curator creates a slide, an admin a modality and a key', async () => {
    const slide = await post('mutation { createSlide(input: { name: "by-curator" }) { name } }', {}, bearer(keys.curator));
    expect(slide).toMatchObject({ status: 200, data: { createSlide: { name: 'by-curator' } } });
    const modality = await post('mutation { createModality(input: { name: "BY-ADMIN" }) { name } }', {}, bearer(keys.admin));
    expect(modality.data).toEqual({ createModality: { name: 'BY-ADMIN' } });
    const key = await post('mutation { createApiKey(input: { name: "made-by-admin", role: CURATOR }) { secret key { name role prefix } } }', {}, bearer(keys.admin));
    expect(key.data.createApiKey.key).toMatchObject({ name: 'made-by-admin', role: 'CURATOR' });
    expect(key.data.createApiKey.secret.startsWith(key.data.createApiKey.key.prefix)).toBe(true);
    const used = await post('mutation { createSlide(input: { name: "by-new-key" }) { name } }', {}, bearer(key.data.createApiKey.secret));
    expect(used.data).toEqual({ createSlide: { name: 'by-new-key' } });
  });

  test('queries: anonymous and every role may read (CMIR_ANONYMOUS=read); apiKeys is for admins only', async () => {
    for (const headers of [{}, bearer(keys.reader), bearer(keys.curator)]) {
      expect((await post('{ modalities { name } }', {}, headers)).errors).toBeUndefined();
    }
    expect((await post('{ apiKeys { name } }', {}, bearer(keys.curator))).errors![0].extensions.code).toBe('FORBIDDEN');
    const listed = await post('{ apiKeys { name role revokedAt } }', {}, bearer(keys.admin));
    expect(listed.data.apiKeys).toEqual(expect.arrayContaining([{ name: 'the-reader', role: 'READER', revokedAt: null }]));
  });

  test('X-Api-Key works as well as Authorization: Bearer', async () => {
    const res = await post('mutation { createSlide(input: { name: "via-x-api-key" }) { name } }', {}, { 'x-api-key': keys.curator });
    expect(res.data).toEqual({ createSlide: { name: 'via-x-api-key' } });
  });

  test('an unknown, malformed or revoked key is UNAUTHENTICATED, even for a query (never silently anonymous)', async () => {
    for (const headers of [bearer('cmir_not-a-key'), { authorization: 'Basic dXNlcjpwYXNz' }, { 'x-api-key': 'nope' }]) {
      const res = await post('{ modalities { name } }', {}, headers);
      expect(res.status).toBe(401);
      expect(res.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    }
    const doomed = await createKey(app, 'admin', 'doomed');
    expect((await post('{ modalities { name } }', {}, bearer(doomed))).errors).toBeUndefined();
    await app.services.keys.revoke('doomed', { keyId: null, name: 'test' });
    for (const query of ['{ modalities { name } }', 'mutation { createSlide(input: { name: "by-revoked" }) { id } }']) {
      const res = await post(query, {}, bearer(doomed));
      expect(res.status).toBe(401);
      expect(res.errors![0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringContaining('revoked') });
    }
    // and on the tile routes
    const tile = await fetch(`http://127.0.0.1:${server.port}/iiif/3/1/info.json`, { headers: bearer(doomed) });
    expect(tile.status).toBe(401);
    expect(((await tile.json()) as any).error.code).toBe('UNAUTHENTICATED');
  });

  test('createdBy and decidedBy are not inputs any more: the server sets them from the key', async () => {
    const res = await post('mutation($s: ID!, $t: ID!) { linkAcquisition(input: { source: $s, target: $t, createdBy: "mallory" }) { id } }', { s: source, t: target }, bearer(keys.admin));
    expect(res.errors![0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('CMIR_ANONYMOUS', () => {
  test('none: an anonymous query is UNAUTHENTICATED, and so are thumbnails and IIIF tiles; a reader key reads', async () => {
    const closed = await startServer({ ...app, config: { ...app.config, anonymous: 'none' } }, 0, '127.0.0.1');
    try {
      expect(closed.anonymous).toBe('none');
      const anonymous = await post('{ modalities { name } }', {}, {}, closed.url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.data).toBeUndefined();
      expect(anonymous.errors![0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringContaining('Authorization: Bearer') });
      const search = await post('query($id: ID!) { search(input: { imageId: $id, target: "BF" }) { matches { rank } } }', { id: source }, {}, closed.url);
      expect(search.errors![0].extensions.code).toBe('UNAUTHENTICATED');
      const read = await post('{ modalities { name } }', {}, bearer(keys.reader), closed.url);
      expect(read.errors).toBeUndefined();
      const base = `http://127.0.0.1:${closed.port}`;
      // a viewer on another origin may send its key: the CORS preflight (without a key) is answered
      const preflight = await fetch(`${base}/iiif/3/1/info.json`, { method: 'OPTIONS', headers: { origin: 'http://viewer.example', 'access-control-request-headers': 'authorization' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      for (const p of [`/iiif/3/1/info.json`, `/iiif/3/1/full/max/0/default.jpg`, `/thumbnails/${source}.png`]) {
        const res = await fetch(base + p);
        expect(res.status, p).toBe(401);
        expect(((await res.json()) as any).error.code).toBe('UNAUTHENTICATED');
        expect((await fetch(base + p, { headers: bearer(keys.reader) })).status, p).toBe(200);
      }
    } finally {
      await closed.stop();
    }
  });

  test('read (the loopback default): anonymous queries, search and tiles pass (mutations: UNAUTHENTICATED, above)', async () => {
    expect(server.anonymous).toBe('read');
    const search = await post('query($id: ID!) { search(input: { imageId: $id, target: "BF" }) { matches { rank } } }', { id: source });
    expect(search.errors).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${server.port}/iiif/3/1/info.json`)).status).toBe(200);
  });

  test('unset, on a host other than loopback: none', async () => {
    const open = await startServer(app, 0, '0.0.0.0');
    try {
      expect(open.anonymous).toBe('none');
    } finally {
      await open.stop();
    }
    const declared = await startServer({ ...app, config: { ...app.config, anonymous: 'read' } }, 0, '0.0.0.0');
    try {
      expect(declared.anonymous).toBe('read');
    } finally {
      await declared.stop();
    }
  });
});

describe('keys are stored hashed', () => {
  test('the table holds the SHA-256 of each key and a short prefix, never the key', async () => {
    const secret = await createKey(app, 'reader', 'hashed');
    const rows = await app.db.prisma.$queryRawUnsafe<Record<string, unknown>[]>('SELECT * FROM "ApiKey"');
    const row = rows.find((r) => r.name === 'hashed')!;
    expect(row.hash).toBe(hashKey(secret));
    expect(secret.startsWith(row.prefix as string)).toBe(true);
    expect((row.prefix as string).length).toBeLessThan(secret.length / 2);
    for (const r of rows) expect(JSON.stringify(r)).not.toContain(secret.slice(12));
    for (const key of Object.values(keys)) expect(JSON.stringify(rows)).not.toContain(key);
    // nor does the audit trail
    const audit = await app.db.prisma.$queryRawUnsafe<unknown[]>('SELECT * FROM "AuditEvent"');
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(secret.slice(12));
  });

  test('a key records when it was last used', async () => {
    const secret = await createKey(app, 'reader', 'used');
    expect((await app.services.keys.find('used')).lastUsedAt).toBeNull();
    await post('{ modalities { name } }', {}, bearer(secret));
    expect((await app.services.keys.find('used')).lastUsedAt).toBeInstanceOf(Date);
  });
});

describe('audit trail', () => {
  test('a link created, confirmed, then rejected: three events in order, with the actors, exposed as Link.history', async () => {
    const alice = await createKey(app, 'curator', 'alice');
    const bob = await createKey(app, 'curator', 'bob');
    const carol = await createKey(app, 'admin', 'carol');
    // a region of its own: linking is idempotent (docs/adr/0017), and other tests here link this pair without one
    const created = await post('mutation($s: ID!, $t: ID!) { linkAcquisition(input: { source: $s, target: $t, method: "manual", region: { x: 1, y: 2, width: 3, height: 4 } }) { id createdBy } }', { s: source, t: target }, bearer(alice));
    expect(created.data.linkAcquisition.createdBy).toBe('alice');
    const id = created.data.linkAcquisition.id;
    const decide = (status: string, key: string) => post(`mutation($id: ID!) { setLinkStatus(input: { id: $id, status: ${status} }) { status decidedBy } }`, { id }, bearer(key));
    expect((await decide('CONFIRMED', bob)).data.setLinkStatus).toEqual({ status: 'CONFIRMED', decidedBy: 'bob' });
    expect((await decide('REJECTED', carol)).data.setLinkStatus).toEqual({ status: 'REJECTED', decidedBy: 'carol' });

    // the rows: one per change, in the same transaction as it, before and after
    const linkId = Number(Buffer.from(id, 'base64url').toString().split(':')[1]);
    const rows = await app.db.prisma.auditEvent.findMany({ where: { targetType: 'Link', targetId: linkId }, orderBy: { id: 'asc' } });
    const [aliceKey, bobKey, carolKey] = await Promise.all(['alice', 'bob', 'carol'].map((k) => app.services.keys.find(k)));
    expect(rows.map((r) => [r.action, r.actor, r.actorKeyId, (r.before as any)?.status ?? null, (r.after as any).status, (r.after as any).decidedBy])).toEqual([
      ['linkAcquisition', 'alice', aliceKey.id, null, 'PROPOSED', null],
      ['setLinkStatus', 'bob', bobKey.id, 'PROPOSED', 'CONFIRMED', 'bob'],
      ['setLinkStatus', 'carol', carolKey.id, 'CONFIRMED', 'REJECTED', 'carol'],
    ]);
    expect(rows[2].at.getTime()).toBeGreaterThanOrEqual(rows[1].at.getTime());

    // the first decision is not lost: Link.history, oldest first, readable anonymously on loopback
    const history = await post('query($id: ID!) { node(id: $id) { ... on Link { status decidedBy history { action actor fromStatus toStatus at } } } }', { id });
    expect(history.errors).toBeUndefined();
    expect(history.data.node).toMatchObject({ status: 'REJECTED', decidedBy: 'carol' });
    expect(history.data.node.history.map((e: any) => [e.action, e.actor, e.fromStatus, e.toStatus])).toEqual([
      ['linkAcquisition', 'alice', null, 'PROPOSED'],
      ['setLinkStatus', 'bob', 'PROPOSED', 'CONFIRMED'],
      ['setLinkStatus', 'carol', 'CONFIRMED', 'REJECTED'],
    ]);
    expect(history.data.node.history.every((e: any) => Date.parse(e.at) > 0)).toBe(true);

    // the command line decides as its operator (cmir link confirm): cli:<os user>, in the same history
    await app.services.links.setStatus(linkId, 'CONFIRMED', cliActor());
    const again = await post('query($id: ID!) { node(id: $id) { ... on Link { decidedBy history { actor fromStatus toStatus } } } }', { id });
    expect(again.data.node.decidedBy).toMatch(/^cli(:.+)?$/);
    expect(again.data.node.history).toHaveLength(4);
    expect(again.data.node.history[3]).toEqual({ actor: again.data.node.decidedBy, fromStatus: 'REJECTED', toStatus: 'CONFIRMED' });
  });

  test('every other mutation appends one event too, named after it, with the key that ran it', async () => {
    const before = await app.db.prisma.auditEvent.count();
    const res = await post('mutation { createSlide(input: { name: "audited", metadata: { organ: "skin" } }) { id } }', {}, bearer(keys.curator));
    const slideId = Number(Buffer.from(res.data.createSlide.id, 'base64url').toString().split(':')[1]);
    expect(await app.db.prisma.auditEvent.count()).toBe(before + 1);
    const [event] = await app.repos.audit.latest(1);
    expect(event).toMatchObject({ action: 'createSlide', actor: 'the-curator', targetType: 'Slide', targetId: slideId, after: { name: 'audited', metadata: { organ: 'skin' } } });
    // a refused mutation appends nothing
    await post('mutation { createSlide(input: { name: "refused" }) { id } }', {}, bearer(keys.reader));
    expect(await app.db.prisma.auditEvent.count()).toBe(before + 1);
  });

  test('the table is append-only: UPDATE and DELETE are refused by the database', async () => {
    // (the trigger's message, "AuditEvent is append-only", does not survive PGlite's Prisma adapter: the rows tell)
    const before = await app.db.prisma.auditEvent.count();
    expect(before).toBeGreaterThan(0);
    await expect(app.db.prisma.$executeRawUnsafe(`UPDATE "AuditEvent" SET actor = 'mallory'`)).rejects.toThrow();
    await expect(app.db.prisma.$executeRawUnsafe('DELETE FROM "AuditEvent"')).rejects.toThrow();
    await expect(app.db.prisma.auditEvent.deleteMany({})).rejects.toThrow();
    expect(await app.db.prisma.auditEvent.count({ where: { actor: 'mallory' } })).toBe(0);
    expect(await app.db.prisma.auditEvent.count()).toBe(before);
  });
});

function args(doc: { query: string; variables?: Record<string, unknown> }, headers: Record<string, string> = {}): [string, Record<string, unknown>, Record<string, string>] {
  return [doc.query, doc.variables ?? {}, headers];
}
