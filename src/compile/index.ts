export { policySchema, fragmentSchema, extraRuleSchema, parsePolicy, parseFragment, resolvePolicy, notAPolicy, nftRate } from './policy.js';
export type { ExtraRule, Policy, PolicyFragment, PolicyInput, PolicyRule, ResolvedPolicy, Result } from './policy.js';
export { TARGETS, compileTarget, compileIptables, compileIptablesRestore, compileNft, compileTalos, compileHarvesterCloudInit, iptablesCommand, iptablesCommands, iptablesRuleArgs, nftRuleLines } from './targets.js';
export type { IpFamily } from './targets.js';
export type { CompileOutput, Target } from './targets.js';
