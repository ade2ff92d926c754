#!/usr/bin/env node
// The CLI bundled by the build (src/build/bundle.ts: one module graph instead of ~140 files to resolve at start).
import { main } from '../dist/bin/main.js';

await main(process.argv.slice(2));
