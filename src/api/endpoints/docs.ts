/**
 * GET /openapi.json: the OpenAPI 3.1 document (src/api/openapi.ts). GET /docs: that
 * document as a plain HTML page, rendered here on the server.
 *
 * Why not Swagger UI or Scalar: the API runs without internet (no CDN), and both
 * would add a multi-megabyte dependency plus a static-file route for their assets.
 * The page only has to list paths, methods, summaries, parameters and schemas, which
 * a few lines of escaped HTML do with no dependency and no script at all; its
 * Content-Security-Policy allows nothing but its own inline style (by hash).
 */
import { createHash } from 'node:crypto';
import { Type } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { buildOpenApiDocument } from '../openapi.ts';

/** The page's only style; the CSP names its hash, so nothing else can be injected and run or styled. */
const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
pre,code{font:13px ui-monospace,monospace} pre{background:#f6f6f6;padding:.75rem;overflow:auto}
.op{border-top:1px solid #ddd;padding:.25rem 0} .method{display:inline-block;min-width:4.5rem;font-weight:bold}
.get{color:#0a6} .post{color:#06c} .put,.patch{color:#a60} .delete{color:#c00}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
`;

/** No script, no frame, no form, no fetch: only the inline style above, by its hash. */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Json = Record<string, unknown>;

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** JSON (indented, or on one line) whose `$ref`s link to the schema or response they name. */
function schemaHtml(schema: unknown, indent = 2): string {
  return escape(JSON.stringify(schema, null, indent)).replace(
    /&quot;#\/components\/(schemas|responses)\/(\w+)&quot;/g,
    (_, kind: string, name: string) => `<a href="#${kind}-${name}">&quot;${name}&quot;</a>`,
  );
}

/** A response: a link to the shared problem answer, or its media type and schema. */
function responseHtml(status: string, answer: Json): string {
  const content = Object.entries((answer.content as Record<string, Json> | undefined) ?? {});
  const what = content.map(([type, media]) => `${escape(type)} <code>${schemaHtml(media.schema, 0)}</code>`).join(', ');
  return `<li><code>${status}</code> ${answer.$ref ? schemaHtml(answer.$ref, 0) : escape(String(answer.description))} ${what}</li>`;
}

function operationHtml(path: string, method: string, op: Json): string {
  const params = (op.parameters as Json[] | undefined) ?? [];
  const body = op.requestBody as { required: boolean; content: Record<string, Json> } | undefined;
  const rows = params.map(
    (p) =>
      `<tr><td><code>${escape(String(p.name))}</code></td><td>${escape(String(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${schemaHtml(p.schema, 0)}</code></td></tr>`,
  );
  return `<section class="op">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(String(op.summary))}</p>
${rows.length > 0 ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${rows.join('')}</table>` : ''}
${body ? `<p>Request body (application/json${body.required ? '' : ', optional'}): <code>${schemaHtml(body.content['application/json']?.schema, 0)}</code></p>` : ''}
<ul>${Object.entries(op.responses as Record<string, Json>)
    .map(([status, answer]) => responseHtml(status, answer))
    .join('')}</ul>
</section>`;
}

export function renderDocsPage(doc: Json): string {
  const info = doc.info as { title: string; version: string; description?: string };
  const paths = Object.entries(doc.paths as Record<string, Record<string, Json>>);
  const components = doc.components as Record<string, Json>;
  const definitions = (kind: string) =>
    Object.entries(components[kind] ?? {})
      .map(([name, schema]) => `<h3 id="${kind}-${name}"><code>${name}</code></h3><pre>${schemaHtml(schema)}</pre>`)
      .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)} API ${escape(info.version)}</title>
<style>${STYLE}</style></head><body>
<h1>${escape(info.title)} API <small>${escape(info.version)}</small></h1>
<p>${escape(info.description ?? '')}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Errors are
<code>application/problem+json</code> (<a href="#schemas-Problem">Problem</a>).</p>
<h2>Operations</h2>
${paths.flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => operationHtml(path, method, op))).join('\n')}
<h2>Schemas</h2>
${definitions('schemas')}
<h2>Problem responses</h2>
${definitions('responses')}
</body></html>
`;
}

/**
 * The two endpoints, given the whole list lazily (the document describes every
 * endpoint, these two included, so it is built on the first request).
 */
export function docsEndpoints(all: () => readonly Endpoint[]): Endpoint[] {
  let document: Json | undefined;
  let page: string | undefined;
  const documentOf = () => (document ??= buildOpenApiDocument(all()));
  return [
    endpoint({
      method: 'GET',
      path: '/openapi.json',
      tag: 'docs',
      summary: 'This OpenAPI document',
      scope: 'any',
      touchesDatabase: false,
      response: { status: 200, schema: Type.Unsafe<Json>({ type: 'object' }) },
      handler: () => documentOf(),
    }),
    endpoint({
      method: 'GET',
      path: '/docs',
      tag: 'docs',
      summary: 'This document as an HTML page',
      scope: 'any',
      touchesDatabase: false,
      response: { status: 200, schema: Type.String(), mediaType: 'text/html; charset=utf-8' },
      handler: ({ ctx }) => {
        ctx.set('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY);
        return (page ??= renderDocsPage(documentOf()));
      },
    }),
  ];
}
