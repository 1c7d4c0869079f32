import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

// Built by `npm run build:admin` into admin/dist, served by the gateway on :7080 (registerConsole).
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // one chunk for the framework keeps the app chunk small to rebuild
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // `npx vite --config admin/vite.config.ts` against a gateway on :7080
    proxy: { '/api': 'http://127.0.0.1:7080' },
  },
});
