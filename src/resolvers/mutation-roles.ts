import type { GraphQLFieldResolver } from 'graphql';
import { fromGlobalId } from '../ids.ts';
import type { Context } from '../server/context.ts';
import type { AuditEntry } from '../services/audit.service.ts';
import { authorize, type Role } from '../services/auth.ts';
import type { Mutation as MutationFields, MutationResolvers } from './__generated__/resolvers-types.ts';

/** Every field of the Mutation type (from the SDL, via codegen): a new mutation is a compile error here until it has a role. */
export type MutationName = Exclude<keyof MutationFields, '__typename'>;

/** Where the audit trail gets a mutation's event. */
type Audit =
  /** Its service appends the event in the change's own transaction (links, keys). */
  | 'service'
  /** Appended here once the mutation succeeded: its services commit in several transactions (ingestion, jobs). */
  | ((result: any, args: any) => Omit<AuditEntry, 'action'>);

interface MutationPolicy {
  /** The least role that may run it (admin ⊇ curator ⊇ reader). */
  role: Role;
  audit: Audit | null;
}

/** The input as the audit trail keeps it: an upload becomes its presence, not its bytes. */
const inputOf = (args: { input?: Record<string, unknown> | null }) => {
  const { file, ...rest } = args.input ?? {};
  return file == null ? rest : { ...rest, file: 'upload' };
};

/**
 * The role each mutation needs (issue 19, docs/adr/0014), checked in one place: `guardMutations` wraps every Mutation
 * resolver with `authorize`, and test/api/auth.test.ts checks that every field of the schema's Mutation type is here.
 */
export const MUTATION_POLICY: Record<MutationName, MutationPolicy> = {
  // the SDL's placeholder (base.graphql: `extend type Mutation` needs a type to extend); no resolver, nobody needs it
  _empty: { role: 'admin', audit: null },
  createSlide: { role: 'curator', audit: (slide, args) => ({ targetType: 'Slide', targetId: slide.id, after: inputOf(args) }) },
  updateSlideMetadata: { role: 'curator', audit: (slide, args) => ({ targetType: 'Slide', targetId: slide.id, after: { ...inputOf(args), metadata: slide.metadata } }) },
  ingestImage: { role: 'curator', audit: (image, args) => ({ targetType: 'Image', targetId: image.id, after: { ...inputOf(args), sha256: image.sha256 } }) },
  queueImageIngestion: { role: 'curator', audit: (job, args) => ({ targetType: 'Job', targetId: job.id, after: { ...inputOf(args), sha256: job.params?.sha256 ?? null } }) },
  linkAcquisition: { role: 'curator', audit: 'service' },
  setLinkStatus: { role: 'curator', audit: 'service' },
  createModality: { role: 'admin', audit: (modality, args) => ({ targetType: 'Modality', targetId: modality.id, after: inputOf(args) }) },
  registerModel: {
    role: 'admin',
    audit: (modalities: { id: number; name: string; comirModelId: number | null }[], args) => ({
      targetType: 'ComirModel',
      targetId: modalities[0]?.comirModelId ?? null,
      after: { ...inputOf(args), modalities: modalities.map((m) => m.name) },
    }),
  },
  buildVocabulary: { role: 'admin', audit: (job, args) => ({ targetType: 'Job', targetId: job.id, after: inputOf(args) }) },
  reindex: { role: 'admin', audit: (job, args) => ({ targetType: 'Job', targetId: job.id, after: inputOf(args) }) },
  cancelJob: { role: 'admin', audit: (job) => ({ targetType: 'Job', targetId: job.id, after: { state: job.state, cancelRequestedAt: job.cancelRequestedAt } }) },
  deleteImage: { role: 'admin', audit: (_, args: { id: string }) => ({ targetType: 'Image', targetId: fromGlobalId('Image', args.id) }) },
  createApiKey: { role: 'admin', audit: 'service' },
  revokeApiKey: { role: 'admin', audit: 'service' },
};

/**
 * Wraps each Mutation resolver: first `authorize` with its role (UNAUTHENTICATED / FORBIDDEN before anything runs),
 * then, for mutations not audited by their service, one audit event after it succeeded. A resolver without a policy
 * fails at start-up, not at the first request.
 */
export function guardMutations(resolvers: MutationResolvers): MutationResolvers {
  for (const name of Object.keys(resolvers)) {
    if (!(name in MUTATION_POLICY)) throw new Error(`mutation ${name} has no role in MUTATION_POLICY`);
  }
  const guarded: Record<string, GraphQLFieldResolver<unknown, Context>> = {};
  // every field with a policy is wrapped, a field without a resolver (_empty) too: none answers below its role
  for (const [name, policy] of Object.entries(MUTATION_POLICY) as [MutationName, MutationPolicy][]) {
    const resolver = (resolvers as Record<string, unknown>)[name] ?? (() => null);
    if (typeof resolver !== 'function') throw new Error(`mutation ${name}: expected a resolver function`);
    const resolve = resolver as GraphQLFieldResolver<unknown, Context>;
    guarded[name] = async (parent, args, ctx, info) => {
      const actor = authorize(ctx.principal, policy.role);
      const result = await resolve(parent, args, ctx, info);
      if (typeof policy.audit === 'function') await ctx.services.audit.recordAfter(actor, { action: name, ...policy.audit(result, args) });
      return result;
    };
  }
  return guarded as MutationResolvers;
}
