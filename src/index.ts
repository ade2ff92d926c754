/**
 * fwdiag's public API: named re-exports only. Each stage is a plain synchronous function over plain data; I/O lives
 * in the input adapters and the CLI.
 */
export type {
  ArpInfo,
  CtInvalid,
  DropEvent,
  Envelope,
  IcmpInfo,
  InnerPacket,
  IssueCode,
  LineResult,
  ParseCounters,
  ParseIssue,
  Transport,
} from './parse/event.js';
export { createParser } from './parse/parse-line.js';
export type { LineParser, ParserOptions } from './parse/parse-line.js';
export { compressIpv6 } from './parse/ipv6.js';

export type { InputStats, LineSource } from './input/types.js';
export { MAX_LINE_BYTES } from './input/types.js';
export { openInputs } from './input/open-inputs.js';
export type { InputOptions } from './input/open-inputs.js';
export { openFileSource, streamSource } from './input/file-source.js';
export { openFollowSource } from './input/follow-source.js';
export { openKmsgSource } from './input/kmsg-source.js';
export { createLineSplitter } from './input/split-lines.js';

export { eventToJson, issueToJson, jsonString } from './output/ndjson.js';
export { escapeControl } from './output/escape.js';

export { createClassifier } from './classify/classifier.js';
export type { AnalyzeSummary, ClassifiedEvent, ClassifyResult, Classifier, FlowChange, FlowSummary } from './classify/classifier.js';
export type { Verdict } from './classify/verdict.js';

export * as catalog from './catalog/index.js';
export * as ruleset from './ruleset/index.js';
export * as compile from './compile/index.js';

export { UsageError, InputError, RulesetError } from './cli/errors.js';
export { run } from './cli/main.js';
export type { CliIO, Command } from './cli/io.js';
