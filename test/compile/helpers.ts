import { readFileSync } from 'node:fs';
import { compileTarget, parsePolicy, resolvePolicy } from '../../src/compile/index.js';
import { loadBuiltinCatalog, mergeCatalogs, parseCatalogText } from '../../src/catalog/index.js';
import type { Catalog } from '../../src/catalog/index.js';
import type { CompileOutput, PolicyFragment, PolicyInput, ResolvedPolicy, Target } from '../../src/compile/index.js';

export function resolve(input: Partial<PolicyInput> & { platform: string; role: string }, fragments: PolicyFragment[] = []): ResolvedPolicy {
  const p = parsePolicy(input);
  if (!p.ok) throw new Error(p.issues.join('; '));
  const r = resolvePolicy(p.value, fragments);
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
}

export function compile(input: Partial<PolicyInput> & { platform: string; role: string }, target: Target, fragments: PolicyFragment[] = []): CompileOutput {
  return compileTarget(resolve(input, fragments), target);
}

/** The seed's command lines (fixtures copied verbatim from the Harvester seed). */
export function seedCommands(role: 'control-plane' | 'worker' | 'witness'): string[] {
  return readFileSync(`fixtures/rulesets/harvester-${role}.commands.sh`, 'utf8').split('\n').filter((l) => l.startsWith('iptables'));
}

/** Command lines of an `iptables` target output. */
export function commandLines(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('iptables'));
}

/** The built-in catalog with a site file's rows for harvester control-plane nodes. */
export function siteCatalog(rows: string): Catalog {
  const text = `platform: harvester
title: site
roles: [{name: control-plane}]
sources: {"[RB]": {title: runbook, url: "https://wiki.example.com/rb"}}
entries:
${rows}`;
  const r = parseCatalogText(text, 'site.yaml');
  if (!r.ok) throw new Error(r.issues.join('; '));
  return mergeCatalogs(loadBuiltinCatalog(), [r.value]);
}
