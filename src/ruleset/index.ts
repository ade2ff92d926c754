export type { Chain, Hook, LogAction, Match, Range, Rule, RuleRef, Ruleset, Table, TableFamily, Verdict } from './model.js';
export { parseIptablesSave, parseRuleArgs, parsePortRange, tokenize, normProto, MAX_RULES } from './iptables-save.js';
export { parseNftJson } from './nft-json.js';
export { parseRuleset, mergeRulesets, MAX_RULESET_BYTES } from './parse.js';
export type { RulesetResult } from './parse.js';
export { trace, evalMatch, packetFromEvent, hooksFor, MAX_TRACE_STEPS, MAX_JUMP_DEPTH, MAX_NEAR_MISSES } from './trace.js';
export type { MatchEval, NearMiss, NearMissKind, NearMissReason, Packet, StepAction, TraceOptions, TraceResult, TraceStep, Tri } from './trace.js';
export { formatTrace, escapeText, refLabel } from './format.js';
export { parseIp, parsePrefix, prefixContains } from './addr.js';
