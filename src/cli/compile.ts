/**
 * `fwdiag compile`: a policy (file, or --platform/--role defaults) plus fragments → firewall rules for one target.
 * Wiring only: flags → options, files → zod-validated policy/fragments → resolvePolicy → compileTarget → stdout.
 */
import { WORDED, issuesOf } from '../catalog/issues.js';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError, RulesetError, UsageError } from './errors.js';
import { checkPlatformRoles, commandArgs, flagOfKey, nameSchema } from './options.js';
import type { CliIO, Command } from './io.js';
import { loadCatalog, parseYamlText } from '../catalog/index.js';
import { TARGETS, compileTarget, notAPolicy, parseFragment, parsePolicy, resolvePolicy } from '../compile/index.js';
import type { PolicyFragment } from '../compile/index.js';
import { escapeControl } from '../output/escape.js';
import { guardOutput, writeLines } from '../output/safe-stdout.js';

export const COMPILE_USAGE = `Usage: fwdiag compile --target T [--policy FILE] [--platform P --role R] [--extra FRAGMENT …]

Compile a host-firewall policy into rules, in the structure of the Harvester host-network-security examples:
loopback (a chain on every interface), established/related, ICMP, pod CIDR, DHCP, the role's catalog ports, extra
rules, rate-limited LOG, DROP.

  --target T            iptables (shell commands; ip6tables too with the policy's ipv6) | iptables-restore |
                        ip6tables-restore | nft | talos | harvester-cloudinit
  --policy FILE         policy (YAML or JSON); see README "Policy schema"; - = stdin
  --platform P          platform (harvester, rke2, k3s, kubeadm, talos, konvoy, …); overrides the policy's
  --role R              node role (control-plane, worker, witness, server, agent, controlplane, …)
  --extra FILE          a fragment {extra: [{proto, ports, sources, comment}]} to add; repeatable; - = stdin
  --catalog FILE        extra catalog file(s); repeatable
  -h, --help            this help

--platform/--role alone give the platform's defaults (chain, interfaces, pod CIDR, CNI, addons, log prefix).
Warnings (rows a target cannot express) go to stderr.
`;

const optionsSchema = z.object({
  target: z.enum(TARGETS),
  policy: z.string().min(1).optional(),
  platform: nameSchema.optional(),
  role: nameSchema.optional(),
  extras: z.array(z.string().min(1)).default([]),
  catalogs: z.array(z.string().min(1)).default([]),
});
export type CompileCliOptions = z.output<typeof optionsSchema>;

export function parseCompileArgs(argv: string[]): CompileCliOptions | 'help' {
  const parsed = commandArgs(argv, {
    target: { type: 'string' },
    policy: { type: 'string' },
    platform: { type: 'string' },
    role: { type: 'string' },
    extra: { type: 'string', multiple: true },
    catalog: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  }, false);
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.target === undefined) throw new UsageError(`--target is required: ${TARGETS.join(', ')}`);
  if (v.policy === undefined && (v.platform === undefined || v.role === undefined)) {
    throw new UsageError('give --policy FILE, or --platform P and --role R');
  }
  // --policy - and --extra - both read stdin: the second would read nothing (an empty fragment's "extra: expected array")
  if ((v.extra ?? []).filter((x) => x === '-').length > 1) throw new UsageError('--extra -: stdin can be read once');
  if (v.policy === '-' && (v.extra ?? []).includes('-')) throw new UsageError('--policy - and --extra -: stdin can be read once');
  const r = optionsSchema.safeParse({ target: v.target, policy: v.policy, platform: v.platform, role: v.role, extras: v.extra ?? [], catalogs: v.catalog ?? [] }, WORDED);
  if (!r.success) {
    const i = issuesOf(r.error)[0];
    const flag = String(i?.path[0] ?? '');
    throw new UsageError(flag === 'target' ? `--target: use ${TARGETS.join(', ')}` : `${flagOfKey(flag)}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

async function readText(path: string, io: CliIO): Promise<string> {
  if (path === '-') {
    let s = '';
    for await (const chunk of io.stdin) {
      s += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
      if (s.length > 4 * 1024 * 1024) throw new InputError('stdin: policy fragment larger than 4 MiB');
    }
    return s;
  }
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function yamlOf(text: string, name: string): unknown {
  try {
    return parseYamlText(text) ?? {};
  } catch (e) {
    throw new RulesetError(`${name}: not valid YAML/JSON: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
}

export const compileCommand: Command = async (argv, io) => {
  const opts = parseCompileArgs(argv);
  guardOutput(io.stdout);
  if (opts === 'help') {
    await writeLines(io.stdout, COMPILE_USAGE);
    return 0;
  }
  const catalog = loadCatalog(opts.catalogs);
  const raw = opts.policy === undefined ? {} : yamlOf(await readText(opts.policy, io), opts.policy);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RulesetError(`${opts.policy ?? 'policy'}: expected a mapping`);
  const merged: Record<string, unknown> = { ...raw, ...(opts.platform === undefined ? {} : { platform: opts.platform }), ...(opts.role === undefined ? {} : { role: opts.role }) };
  // --platform and --role are flags: an unknown one is a usage error, as in every command (named in a policy file,
  // it is the file that is wrong: exit 1, below)
  if (opts.platform !== undefined) {
    checkPlatformRoles(catalog, opts.platform, []);
    const not = notAPolicy(opts.platform);
    if (not !== undefined) throw new UsageError(`--platform: ${not}`);
  }
  const platform = merged['platform'];
  if (opts.role !== undefined && typeof platform === 'string' && catalog.platforms.has(platform)) checkPlatformRoles(catalog, platform, [opts.role]);
  const policy = parsePolicy(merged);
  if (!policy.ok) throw new RulesetError(policy.issues.slice(0, 5).join('; '));
  const fragments: PolicyFragment[] = [];
  for (const f of opts.extras) {
    const fr = parseFragment(yamlOf(await readText(f, io), f), f === '-' ? 'stdin' : f);
    if (!fr.ok) throw new RulesetError(fr.issues.slice(0, 5).join('; '));
    fragments.push(fr.value);
  }
  const resolved = resolvePolicy(policy.value, fragments, catalog);
  if (!resolved.ok) throw new RulesetError(resolved.issues.join('; '));
  const out = compileTarget(resolved.value, opts.target);
  if (out.error !== undefined) throw new RulesetError(out.error);
  for (const w of out.warnings) io.stderr.write(`fwdiag compile: warning: ${escapeControl(w)}\n`);
  await writeLines(io.stdout, out.text);
  return 0;
};
