/**
 * The GraphQL sandbox cmir serves at /graphiql/ (src/server/browser.ts, docs/adr/0018): GraphiQL bundled from npm by
 * scripts/build-graphiql.js, so it loads nothing from the internet. Requests go to ../graphql with the headers of
 * GraphiQL's header editor (an API key: {"Authorization": "Bearer cmir_..."}).
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { buildSchema, graphql } from 'graphql';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/style.css';
import '@graphiql/react/font/roboto.css';
import '@graphiql/react/font/fira-code.css';
import './page.css';

// Monaco's workers, bundled beside this file (the build's worker entries); classic scripts, as esbuild writes them.
globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    const file = label === 'json' ? 'json.worker.js' : label === 'graphql' ? 'graphql.worker.js' : 'editor.worker.js';
    return new Worker(new URL(file, document.baseURI));
  },
};

const DEFAULT_QUERY = `# cmir GraphQL. Queries on a loopback server need no key;
# changes and network servers do. Under "Headers" enter
#   {"Authorization": "Bearer cmir_..."}
# then re-fetch the schema (circular arrow, bottom left).
query Images {
  images(first: 10) {
    totalCount
    edges { node { id name width height modality { name } } }
  }
}
`;

const endpoint = createGraphiQLFetcher({ url: new URL('../graphql', document.baseURI).href });

/**
 * GraphiQL learns the schema by introspection, which the server answers only with CMIR_INTROSPECTION=1. Its
 * introspection request is answered here instead, from the server's SDL (schema.graphql beside this page, fetched with
 * the header editor's headers: a read like any query), so completion and docs work with introspection off.
 */
async function fetcher(params, opts) {
  if (params.operationName !== 'IntrospectionQuery') return endpoint(params, opts);
  const res = await fetch(new URL('schema.graphql', document.baseURI), { headers: { accept: 'text/plain', ...(opts?.headers ?? {}) } });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const error = body?.error ?? { code: String(res.status), message: res.statusText };
    // `data: null`, so GraphiQL shows the error instead of asking again without subscriptionType
    return { data: null, errors: [{ message: `schema: ${error.message}`, extensions: { code: error.code } }] };
  }
  return graphql({ schema: buildSchema(await res.text()), source: params.query });
}

createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, { fetcher, defaultQuery: DEFAULT_QUERY, isHeadersEditorEnabled: true, defaultEditorToolsVisibility: 'headers' }),
);
