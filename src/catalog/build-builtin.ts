/**
 * Build step (`npm run build`): compiles the built-in catalog (catalog/*.yaml, parsed and validated) into
 * dist/catalog/builtin.json, which loadBuiltinCatalog() reads while it matches the YAML files.
 */
import { writeFileSync } from 'node:fs';
import { compileBuiltinCatalog, compiledCatalogPath } from './loader.js';

writeFileSync(compiledCatalogPath(), `${JSON.stringify(compileBuiltinCatalog())}\n`);
