/**
 * Build step (`npm run build`): the CLI as one ES module bundle (dist/bin/main.js and its lazily loaded command chunks),
 * which bin/fwdiag.js runs. Node resolves and compiles ~140 modules for `fwdiag analyze` from dist/ (zod alone is 95):
 * ~60 ms of every start (0.25 → 0.19 s for a 100-line log, measured). The library (dist/index.js) stays unbundled.
 *
 * What the bundle reads next to itself: builtin.json (copied here; see catalog/loader.ts), the scanner's WebAssembly
 * (found in dist/parse/ through wasm-scan.ts's second candidate), package.json and catalog/ two folders up (as from
 * dist/cli/). `yaml` is required lazily through createRequire, and Ink and React are imported, from node_modules at
 * run time.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../', import.meta.url));
// chunk names carry content hashes: an earlier build's chunks would stay behind
rmSync(`${dist}bin`, { recursive: true, force: true });
await build({
  entryPoints: [`${dist}cli/main.js`],
  outdir: `${dist}bin`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Ink and React stay in node_modules (loaded only by the live view): React is CommonJS that Ink and the JSX runtime
  // import by name, which a bundle's CommonJS interop breaks ("createElement is not a function", seen)
  external: ['ink', 'react', 'react/*'],
  // the CommonJS dependencies (tail-file) require Node's built-ins
  // zod's `z` namespace re-exports all 64 of its message locales (`z.locales`), which a bundler cannot drop; fwdiag
  // uses none but English, which zod imports and sets up on its own. An empty module in their place halves zod's
  // chunk (755 → 391 KB) and its load time (33 → 25 ms; `analyze` of a 100-line log 0.204 → 0.187-0.191 s).
  plugins: [
    {
      name: 'zod-locales',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
          /[/\\]zod[/\\]/.test(a.importer) ? { path: 'zod-locales', namespace: 'fwdiag-empty' } : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: 'fwdiag-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
      },
    },
  ],
  banner: { js: "import { createRequire as fwdiagCreateRequire } from 'node:module'; const require = fwdiagCreateRequire(import.meta.url);" },
});
copyFileSync(`${dist}catalog/builtin.json`, `${dist}bin/builtin.json`);
