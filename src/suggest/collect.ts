/**
 * Parse results → the flows `suggest()` reads: the classifier's summary plus, per flow, a few raw lines and one
 * event (the classifier keeps neither). Pure and synchronous; the CLI feeds it line by line from any source.
 */
import { createClassifier } from '../classify/classifier.js';
import type { AnalyzeSummary, ClassifierDeps, Observation } from '../classify/classifier.js';
import { verdictRank } from '../classify/flows.js';
import type { Verdict } from '../classify/verdict.js';
import type { ClassifierOptionsInput } from '../classify/options.js';
import type { DropEvent, LineResult, Packet } from '../parse/event.js';
import type { SuggestFlow } from './suggest.js';

/** Flows whose raw lines and first event are kept; beyond it, flows are not sampled (counted in `unsampled`). */
export const MAX_SAMPLED_FLOWS = 10_000;

/** Lost-state and broadcast flows that keep samples (their own budget: see createFlowCollector). */
export const MAX_SAMPLED_NOISE_FLOWS = 2_000;

/** Flow.ext of a flow the noise budget had no room for (see createFlowCollector) */
const NOISE_FULL = Symbol('noise budget full');
/** A kept sample line is cut to this many characters. */
export const MAX_SAMPLE_CHARS = 1024;

/** What the collector keeps of a flow. */
interface Sample {
  lines: string[];
  event: DropEvent;
  /** the verdict of the packet that gave `event` */
  verdict: Verdict;
}

export interface FlowCollector {
  /** One parse result and the raw line it came from (or a function giving it: called only for a kept sample). */
  add(result: LineResult, text: string | (() => string)): void;
  /**
   * add() for a line the scanner read, as a packet (LineParser.parseBytesPackets): its event is built only for a
   * flow's first kept packet, its line only for a kept sample.
   */
  addPacket(p: Packet, event: () => DropEvent, text: () => string): void;
  /** The classified flows with their samples, and the classifier's summary counters. */
  end(): { flows: SuggestFlow[]; summary: AnalyzeSummary['summary'] };
  /** parse issues seen */
  readonly issues: number;
  /** flows listed by end() (scan flows aside) that kept no sample: the {@link MAX_SAMPLED_FLOWS} cap was reached
   * before their first packet; read after end() */
  readonly unsampled: number;
}

/**
 * A collector. Bounded: at most {@link MAX_SAMPLED_FLOWS} flows × `samplesPerFlow` lines of at most
 * {@link MAX_SAMPLE_CHARS} characters; packets judged part of a scan are not sampled (they never become rules).
 */
export function createFlowCollector(
  opts: { classifier?: ClassifierOptionsInput; samplesPerFlow?: number } = {},
  deps: ClassifierDeps = {},
): FlowCollector {
  const classifier = createClassifier(opts.classifier ?? {}, deps);
  const perFlow = opts.samplesPerFlow ?? 3;
  /** by flow key: a flow that expired and came back keeps adding to its samples */
  const kept = new Map<string, Sample>();
  // Two budgets: lost-state and broadcast flows (noise: their samples only illustrate notes, a smaller budget) cannot
  // use up the one of the flows that may become rules, whose first event the engine traces (ruleset, egress detection).
  let keptNoise = 0;
  let keptOther = 0;
  let issues = 0;
  let unsampled = 0;
  /** Samples a classified packet of a flow: its first event (given or built) and its first lines. */
  const sample = (c: Observation, event: () => DropEvent, text: string | (() => string)): void => {
    if (c.kind !== 'drop' || c.verdict === 'scan' || c.flow === undefined) return;
    const f = c.flow;
    const noise = c.verdict === 'conntrack-loss' || c.verdict === 'broadcast';
    // the flow's entry hangs on the flow itself (Flow.ext): one Map lookup per flow, not per packet
    let s = f.ext as Sample | null | typeof NOISE_FULL | undefined;
    // refused by the noise budget, the flow may still get one of the other budget once it is more than noise
    if (s === undefined || (s === NOISE_FULL && !noise)) {
      let got = kept.get(f.key);
      if (got === undefined && (noise ? keptNoise < MAX_SAMPLED_NOISE_FLOWS : keptOther < MAX_SAMPLED_FLOWS)) {
        got = { lines: [], event: event(), verdict: c.verdict };
        kept.set(f.key, got);
        if (noise) keptNoise++;
        else keptOther++;
      }
      s = got ?? (noise ? NOISE_FULL : null);
      f.ext = s;
    }
    if (s === null || s === NOISE_FULL) return;
    // A flow whose packets rank higher than its sampled ones (a missing rule's SYNs after the lost connections'
    // ACKs, in the same flow) is sampled anew from this packet: its evidence, and the event traced through
    // --ruleset, are what made it a block — a SYN, not an ACK that conntrack forgot.
    const rank = verdictRank(c.verdict);
    if (rank > verdictRank(s.verdict)) {
      s.lines = [];
      s.event = event();
      s.verdict = c.verdict;
    }
    if (s.lines.length < perFlow && rank === verdictRank(s.verdict)) {
      const line = typeof text === 'string' ? text : text();
      s.lines.push(line.length > MAX_SAMPLE_CHARS ? `${line.slice(0, MAX_SAMPLE_CHARS)}…` : line);
    }
  };
  return {
    add(r, text) {
      if (r.kind === 'issue') issues++;
      const ev = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
      if (ev === undefined) return;
      sample(classifier.classify(ev), () => ev, text);
    },
    addPacket(p, event, text) {
      sample(classifier.observe(p), event, text);
    },
    end() {
      // the flows themselves, not their summaries: a summary has no ICMP class, which keys ICMP errors apart from
      // echo between the same hosts (Flow.key has it)
      const { summary, flows, summarize } = classifier.finish();
      unsampled = 0;
      return {
        summary,
        flows: flows.map((flow) => {
          const f = summarize(flow);
          const s = kept.get(flow.key);
          // scan flows are never sampled (they never become rules)
          if (s === undefined && f.verdict !== 'scan') unsampled++;
          return s === undefined ? f : { ...f, samples: s.lines, event: s.event };
        }),
      };
    },
    get issues() {
      return issues;
    },
    get unsampled() {
      return unsampled;
    },
  };
}
