import type { App } from '../../src/app.ts';
import type { Principal, Role } from '../../src/services/auth.ts';

let made = 0;

/** Creates a real API key of this role (through KeyService, as `cmir keys create` does) and returns its secret. */
export async function createKey(app: App, role: Role = 'admin', name = `test-${role}-${++made}`): Promise<string> {
  return (await app.services.keys.create(name, role, { keyId: null, name: 'test' })).secret;
}

/**
 * The principal of a fresh key of this role, as the server derives it from a request's header: pass it to
 * `createContext` in tests that send mutations with `executeOperation` (the rule is not weakened for them).
 */
export async function principalFor(app: App, role: Role = 'admin', name?: string): Promise<Principal> {
  return app.services.keys.authenticate({ key: await createKey(app, role, name) }, 'none');
}

/** Headers of an HTTP request with a fresh key of this role. */
export async function authHeaders(app: App, role: Role = 'admin'): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await createKey(app, role)}` };
}
