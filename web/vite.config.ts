import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by the API at `/` (same origin, so the session cookie and CSP 'self' hold).
// `npx vite web` serves it with hot reload and passes API routes to RAPPORT_API_URL (default :3000).
const root = path.dirname(fileURLToPath(import.meta.url));
const api = process.env.RAPPORT_API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    // No inline <script>/<style> and no data: modules, which the API's CSP (script-src 'self') would block.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
  server: {
    proxy: Object.fromEntries(['/session', '/connections', '/apps', '/openapi.json'].map((p) => [p, api])),
  },
});
