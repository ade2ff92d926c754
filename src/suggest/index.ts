export { suggest, familiesOf, SENSITIVE_TCP, MAX_EVIDENCE_CLIENTS, MAX_SOURCES, MAX_TRACES } from './suggest.js';
export type { Confidence, Evidence, SuggestContext, SuggestFlow, SuggestResult, Suggestion, SuggestionAction, SuggestionKind } from './suggest.js';
export { RULE_PROTOS, SUGGEST_FORMATS, commentFor, formatHuman, policyRules, renderInsert, renderIptablesInsert, renderNftInsert, renderRules, toFragment } from './render.js';
export type { RenderOptions, RenderOutput, SuggestFormat } from './render.js';
export { asCidr, cidrContains, collapseAddresses, formatIp } from './cidr.js';
export { createFlowCollector, MAX_SAMPLED_FLOWS, MAX_SAMPLE_CHARS } from './collect.js';
export type { FlowCollector } from './collect.js';
