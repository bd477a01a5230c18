import { BadUserInputError } from './errors.ts';

/** The object types that have global ids. */
export type NodeType = 'Image' | 'Slide' | 'Modality' | 'Job' | 'Link' | 'Vocabulary' | 'ApiKey';
const NODE_TYPES: readonly NodeType[] = ['Image', 'Slide', 'Modality', 'Job', 'Link', 'Vocabulary', 'ApiKey'];

export function isNodeType(name: string): name is NodeType {
  return (NODE_TYPES as readonly string[]).includes(name);
}

/** Relay global id: base64url of "Type:123". Opaque to clients, stable, and carries its type. */
export function toGlobalId(type: NodeType, id: number): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

export function parseGlobalId(globalId: string): { type: NodeType; id: number } {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const m = /^([A-Za-z]+):([1-9][0-9]{0,14})$/.exec(decoded);
  if (!m || !(NODE_TYPES as readonly string[]).includes(m[1])) {
    throw new BadUserInputError(`${JSON.stringify(globalId)} is not a valid id`, { id: globalId });
  }
  return { type: m[1] as NodeType, id: Number(m[2]) };
}

/** Decodes a global id that must be of the given type. */
export function fromGlobalId(expected: NodeType, globalId: string): number {
  const { type, id } = parseGlobalId(globalId);
  if (type !== expected) {
    throw new BadUserInputError(`${JSON.stringify(globalId)} is a ${type} id, expected a ${expected} id`, {
      id: globalId,
    });
  }
  return id;
}

/** Cursors for keyset pagination: the row id, opaque. */
export function encodeCursor(id: number): string {
  return Buffer.from(`cursor:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const m = /^cursor:([0-9]{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new BadUserInputError(`${JSON.stringify(cursor)} is not a valid cursor`, { cursor });
  return Number(m[1]);
}
