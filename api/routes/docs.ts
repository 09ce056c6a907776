/** The OpenAPI 3.1 document and a browsable docs page (Swagger UI, served from its npm package: no CDN). */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { route, type AnyRoute } from '../routing';

const ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js'] as const;
const assetDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FinFlow API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>`;
const init = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#docs', deepLinking: true });`;

export function docsRoutes(document: () => unknown): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/openapi.json',
      summary: 'This API, described in OpenAPI 3.1',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'OpenAPI document', schema: z.record(z.string(), z.unknown()) } },
      async handler(ctx) {
        ctx.set('Cache-Control', 'public, max-age=60');
        ctx.body = document();
      },
    }),
    route({
      method: 'get',
      path: '/api/docs',
      summary: 'Browsable API documentation',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'HTML page', schema: null } },
      async handler(ctx) {
        ctx.set('Content-Security-Policy', DOCS_CSP);
        ctx.type = 'text/html';
        ctx.body = page;
      },
    }),
    route({
      method: 'get',
      path: '/api/docs/init.js',
      summary: 'Docs page script',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'JavaScript', schema: null } },
      async handler(ctx) {
        ctx.type = 'application/javascript';
        ctx.body = init;
      },
    }),
    route({
      method: 'get',
      path: '/api/docs/assets/:file',
      summary: 'Docs page assets',
      tag: 'operations',
      access: 'public',
      params: z.object({ file: z.enum(ASSETS) }).strict(),
      responses: { 200: { description: 'Asset', schema: null } },
      async handler(ctx, { params }) {
        ctx.set('Cache-Control', 'public, max-age=86400');
        ctx.type = path.extname(params.file);
        ctx.body = fs.createReadStream(path.join(assetDir, params.file));
      },
    }),
  ];
}
