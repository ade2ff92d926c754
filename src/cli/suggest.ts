/**
 * `fwdiag suggest [FILE…] --platform P --role R`: the narrowest ACCEPT rules for the genuinely blocked flows, with
 * why and the evidence. Wiring only: flags → zod-validated options, inputs → parser → classifier (plus a bounded
 * sampler of raw lines per flow, which the classifier does not keep) → suggest() → renderer.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { z } from 'zod';
import type { Command, CliIO } from './io.js';
import { UsageError } from './errors.js';
import { loadRuleset } from './trace.js';
import { readResults, reportSourceErrors } from './read-loop.js';
import { withSignals } from './signals.js';
import type { DropEvent, LineResult, Packet, ParseCounters } from '../parse/event.js';
import { openInputs } from '../input/open-inputs.js';
import { overwrittenOf, overwrittenSentence } from '../input/types.js';
import { hostLabelsOf } from '../input/host-labels.js';
import { classifierOptionsSchema } from '../classify/options.js';
import { SCOPE_FLAGS, addonFlagsOf, checkAddons, checkCni, checkPlatformRoles, classifierFlagsOf, normaliseKmsgFlag, prefixHelp, prefixesSchema, ringOnly, commandArgs, flagOfKey, hostRolesOf, intFlag, nameSchema, scopeFlagsOf, scopeOptionsSchema, tzOf } from './options.js';
import { catalogServiceLookup } from '../classify/services.js';
import { loadCatalog } from '../catalog/index.js';
import { logLimitSentence, rateLimitedLogRules } from '../ruleset/log-limit.js';
import { escapeControl } from '../output/escape.js';
import { jsonValue } from '../output/ndjson.js';
import { guardOutput, writeLines } from '../output/safe-stdout.js';
import { MAX_SAMPLED_FLOWS, SUGGEST_FORMATS, createFlowCollector, formatHuman, renderRules, suggest } from '../suggest/index.js';
import type { SuggestContext } from '../suggest/index.js';


export const SUGGEST_USAGE = `Usage: fwdiag suggest [FILE…] --platform P --role R [options]

Propose the narrowest ACCEPT rules for the genuinely blocked traffic in the logs, in the spirit of audit2allow:
each with the reason (a catalog service missing for the role, an ACCEPT shadowed by the DROP, an unknown port to
confirm) and the evidence (drops, hosts, clients, first/last seen, sample lines). Scans and conntrack loss never
produce an ACCEPT. Reads FILEs (plain or .gz; - for stdin), or stdin when none is given.

  --platform P            catalog platform (harvester, rke2, k3s, kubeadm, talos, konvoy, generic)
  --role R                the node role of the hosts in the logs (control-plane, worker, server, agent, …)
  --host-role HOST=ROLE   the role of one log host (repeatable); other hosts have --role. A capture without host
                          names (dmesg) is its file's name: dmesg.txt is dmesg, node1/dmesg.txt and
                          node2/dmesg.txt are node1/dmesg and node2/dmesg
  --ruleset FILE|live     the ruleset that logged the drops (iptables-save or nft -j JSON; live: this machine's
                          now, from iptables-save and nft): shadowed or inapplicable ACCEPTs become the reason,
                          and rules are placed before the chain's LOG/DROP
  --cluster-subnet CIDR   all cluster machines: cluster-scoped ports are opened to it (else: observed clients)
  --control-plane ADDR    control-plane address or CIDR (repeatable, or comma-separated): control-plane ports
                          (etcd …) are opened to them (else: observed clients)
  --cni NAME              the cluster's CNI (canal, calico, cilium, flannel, kube-ovn): other CNIs' catalog rows
                          are not this cluster's (default: the platform's, e.g. canal for rke2)
  --addon NAME            an addon the cluster runs, as a policy's addons (repeatable; --addon none: none): other
                          addons' catalog rows are not opened by compile, so no missing service either (default:
                          the platform's, as compile: kubeovn-operator and rancher-monitoring for harvester)
  --allow-unknown         also suggest ports no catalog names (low confidence)
  --chain NAME            chain for the rules when no ruleset says (default: the platform's, else FWDIAG_INPUT)
  --catalog FILE          extra catalog file(s); repeatable
  --samples N             sample lines per suggestion, 0-10 (default 3)
Output (one of):
  (default)               human report
  --json                  {"suggestions": [{action, kind, proto, ports, sources, families, service, role,
                          chain, table, insertBefore, ruleSyntax, insertHandle, confidence, reason, notes,
                          evidence, rendered, icmpTypes, sourcePort}], "ignored": {…}}
  --format F              rules only: iptables | nft | talos | harvester-cloudinit | policy (a fragment for
                          fwdiag compile --extra; the --role's suggestions)
Classification:
  --settle DURATION       a flow still going after this is persistent (default 5m)
  --scan-ports N          distinct closed ports that make a scanner (default 10)
  --scan-window DURATION  window for scan detection (default 60s)
  --ephemeral A-B         local ephemeral port range (default 32768-60999)
  --tz ZONE               zone of syslog stamps without an offset (default: local)
Input:
  --kmsg                  read this machine's kernel log from /dev/kmsg, as the ring buffer holds it now (no FILE)
  ${prefixHelp(26)}
  -h, --help              this help

Never suggested: 0.0.0.0/0 for etcd (2379-2381), kubelet (10250) or the RKE2 supervisor (9345); loopback-only
catalog ports; anything from scan or conntrack-loss flows.
`;

const optionsSchema = z.object({
  files: z.array(z.string().min(1, 'an empty FILE argument')),
  platform: nameSchema,
  role: nameSchema,
  hostRoles: z.array(z.tuple([z.string().min(1).max(255), nameSchema])),
  ruleset: z.string().min(1).optional(),
  ...scopeOptionsSchema.shape,
  addons: z.array(nameSchema).optional(),
  chain: z.string().regex(/^[A-Za-z0-9_-]{1,28}$/, 'up to 28 of A-Z a-z 0-9 _ -').optional(),
  catalogs: z.array(z.string().min(1)),
  samples: z.number().int().min(0).max(10),
  output: z.enum(['human', 'json', ...SUGGEST_FORMATS.filter((f) => f !== 'human')]),
  tz: z.string().optional(),
  kmsg: z.union([z.literal(false), z.literal('ring')]),
  prefixes: prefixesSchema.optional(),
  classifier: classifierOptionsSchema.partial(),
});
export type SuggestCliOptions = z.output<typeof optionsSchema>;


/** argv → options; every problem is a UsageError before any input is opened. */
export function parseSuggestArgs(argv: string[]): SuggestCliOptions | 'help' {
  const parsed = commandArgs(normaliseKmsgFlag(argv, 'ring'), {
    platform: { type: 'string' },
    role: { type: 'string' },
    'host-role': { type: 'string', multiple: true },
    ruleset: { type: 'string' },
    ...SCOPE_FLAGS,
    addon: { type: 'string', multiple: true },
    chain: { type: 'string' },
    catalog: { type: 'string', multiple: true },
    samples: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
    settle: { type: 'string' },
    'scan-ports': { type: 'string' },
    'scan-window': { type: 'string' },
    ephemeral: { type: 'string' },
    tz: { type: 'string' },
    kmsg: { type: 'string' },
    prefix: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.platform === undefined || v.role === undefined) throw new UsageError('--platform P and --role R are required (see fwdiag suggest --help)');
  if (v.json === true && v.format !== undefined && v.format !== 'human') throw new UsageError('--json and --format are exclusive: pick one output');
  const hostRoles = hostRolesOf(v['host-role']);
  const tz = tzOf(v.tz);
  const classifier = classifierFlagsOf(v, tz);
  const r = optionsSchema.safeParse({
    files: parsed.positionals,
    platform: v.platform,
    role: v.role,
    hostRoles,
    ruleset: v.ruleset,
    ...scopeFlagsOf(v),
    addons: addonFlagsOf(v.addon),
    chain: v.chain,
    catalogs: v.catalog ?? [],
    samples: v.samples === undefined ? 3 : intFlag(v.samples, '--samples'),
    output: v.json === true ? 'json' : (v.format ?? 'human'),
    tz,
    kmsg: ringOnly(v.kmsg),
    prefixes: v.prefix,
    classifier,
  }, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    const key = String(i?.path[0] ?? '');
    if (key === 'output') throw new UsageError(`--format: use ${SUGGEST_FORMATS.join(', ')}`);
    throw new UsageError(`${flagOfKey(key)}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** Runs suggest with validated options. */
export async function runSuggest(
  opts: SuggestCliOptions, io: CliIO, signal?: AbortSignal,
  /** `events`: read every line as an event, not scanner records as packets (tests hold the two ways equal) */
  internal: { events?: boolean } = {},
): Promise<number> {
  guardOutput(io.stdout);
  const catalog = loadCatalog(opts.catalogs);
  checkPlatformRoles(catalog, opts.platform, [opts.role, ...opts.hostRoles.map(([, r]) => r)]);
  if (opts.cni !== undefined) checkCni(catalog, opts.platform, opts.cni);
  if (opts.addons !== undefined) checkAddons(catalog, opts.platform, opts.addons);
  // the ruleset is read before the logs: a bad path fails at once, not after a long read
  const ruleset = opts.ruleset === undefined ? undefined : await loadRuleset(opts.ruleset);
  if (ruleset !== undefined) for (const w of ruleset.warnings) io.stderr.write(`fwdiag suggest: ruleset: ${escapeControl(w)}\n`);

  const collector = createFlowCollector(
    { classifier: opts.classifier, samplesPerFlow: opts.samples },
    { services: catalogServiceLookup(opts.platform, catalog) },
  );
  const sources = await openInputs({ files: opts.files, follow: false, kmsg: opts.kmsg, stdin: io.stdin });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted === true) stop.abort();
  const totals: ParseCounters = { lines: 0, events: 0, skipped: 0, issues: 0, cut: 0, otherPrefix: 0 };
  const prefixesSeen = new Map<string, number>();
  // a file that fails mid-read (a truncated gzip) is reported, the others still read; the exit code says so
  const sourceErrors = reportSourceErrors(io.stderr);
  try {
    // Lines that name no host (dmesg, /dev/kmsg) are their source's, named as report names them, one source at a
    // time: --host-role gives each capture its role, and two nodes' captures are two hosts.
    const labels = hostLabelsOf(sources);
    for (const [i, src] of sources.entries()) {
      const label = labels[i]!;
      // each result is classified as it is parsed; its line is decoded only when kept as a sample
      const each = (r: LineResult, text: () => string): void => {
        const e = r.kind === 'event' || r.kind === 'issue' ? r.event : undefined;
        if (e !== undefined && e.host === null) e.host = label;
        collector.add(r, text);
      };
      // lines the scanner reads come as packets: an event is built only for a flow's first sampled packet
      const packets = (p: Packet, event: () => DropEvent, text: () => string): void => {
        if (p.host === null) p.host = label;
        collector.addPacket(p, () => ({ ...event(), host: p.host }), text);
      };
      const read = { tz: opts.tz, now: io.now, signal: stop.signal, each, prefixes: opts.prefixes, prefixesSeen, onSourceError: sourceErrors.onSourceError };
      const how = internal.events === true ? read : { ...read, packets };
      for await (const _ of readResults([src], how, totals)) {
        // the batches only pace reading
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }

  const { flows, summary } = collector.end();
  const ctx: SuggestContext = {
    catalog, platform: opts.platform, role: opts.role, hostRoles: new Map(opts.hostRoles), allowUnknown: opts.allowUnknown,
    sampleLines: opts.samples, controlPlane: opts.controlPlane,
    ...(ruleset === undefined ? {} : { ruleset }),
    ...(opts.clusterSubnet === undefined ? {} : { clusterSubnet: opts.clusterSubnet }),
    ...(opts.chain === undefined ? {} : { chain: opts.chain }),
    ...(opts.cni === undefined ? {} : { cni: opts.cni }),
    ...(opts.addons === undefined ? {} : { addons: opts.addons }),
  };
  const result = suggest(flows, ctx);
  if (collector.issues > 0) io.stderr.write(`fwdiag suggest: ${collector.issues} line(s) could not be fully parsed\n`);
  if (collector.unsampled > 0) io.stderr.write(`fwdiag suggest: ${collector.unsampled} flow(s) beyond ${MAX_SAMPLED_FLOWS} kept no sample lines\n`);
  const overwritten = overwrittenOf(sources);
  if (overwritten > 0) io.stderr.write(`fwdiag suggest: ${overwrittenSentence(overwritten)}: evidence may be incomplete\n`);
  if (summary.flowsEvicted > 0) io.stderr.write(`fwdiag suggest: ${summary.flowsEvicted} flow(s) evicted (flow table full): evidence may be incomplete\n`);
  if (ruleset !== undefined) {
    // the evidence's counts are a sample when the LOG rule that wrote the lines is rate-limited (the seed's 10/min)
    for (const x of rateLimitedLogRules(ruleset, new Set(prefixesSeen.keys()))) {
      io.stderr.write(`fwdiag suggest: ${logLimitSentence(x, (p) => JSON.stringify(escapeControl(p)))}\n`);
    }
  }

  if (opts.output === 'human') {
    await writeLines(io.stdout, formatHuman(result, { platform: opts.platform, role: opts.role }));
  } else if (opts.output === 'json') {
    await writeLines(io.stdout, `${jsonValue({ suggestions: result.suggestions, ignored: result.ignored })}\n`);
  } else {
    const out = renderRules(result.suggestions, opts.output, { platform: opts.platform, role: opts.role, catalog });
    for (const w of out.warnings) io.stderr.write(`fwdiag suggest: warning: ${escapeControl(w)}\n`);
    await writeLines(io.stdout, out.text);
  }
  return sourceErrors.failed() ? 1 : 0;
}

export const suggestCommand: Command = async (argv, io) => {
  const opts = parseSuggestArgs(argv);
  if (opts === 'help') {
    guardOutput(io.stdout);
    await writeLines(io.stdout, SUGGEST_USAGE);
    return 0;
  }
  return withSignals((signal) => runSuggest(opts, io, signal));
};
