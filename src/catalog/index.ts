export { SCOPES, CATALOG_PROTOS, MAX_COMMENT_BYTES, MAX_COMMENT_CHARS, catalogFileSchema, entrySchema, fitComment, portSpecSchema, protoHasPorts, ruleCommentSchema } from './schema.js';
export type { CatalogEntry, CatalogFile, CatalogProto, PlatformCatalog, PolicyDefaults, PortRange, Scope } from './schema.js';
export {
  MAX_CATALOG_BYTES,
  MAX_CATALOG_ENTRIES,
  builtinCatalogDir,
  compileBuiltinCatalog,
  compiledCatalogPath,
  loadBuiltinCatalog,
  loadCatalog,
  loadCatalogFile,
  mergeCatalogs,
  parseCatalogText,
  parseYamlText,
} from './loader.js';
export type { Catalog, CatalogResult, CompiledCatalog } from './loader.js';
export {
  applicableEntry,
  applicableRows,
  entriesFor,
  formatEntryPort,
  formatPortRange,
  getPlatform,
  listPlatforms,
  listRoles,
  lookupPort,
  normalizeProto,
  opensByDefault,
  serviceEntryForPort,
  serviceForPort,
} from './lookup.js';
export type { ApplicableRow, LookupOptions, RowConflict } from './lookup.js';
