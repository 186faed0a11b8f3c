import type { MatchLabels } from './index';
import type { Matchers, MatchValue } from './config-file';

export type { MatchLabels } from './index';

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

/** Whether one label value matches a matcher value: exact or `*` glob, case-insensitive; a list matches any. */
function matchesValue(expected: MatchValue, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  const options = Array.isArray(expected) ? expected : [expected];
  return options.some((option) => globToRegExp(option).test(actual));
}

/** All given matchers must match; no matchers match everything. */
export function matches(matchers: Matchers | undefined, labels: Partial<MatchLabels>): boolean {
  if (!matchers) return true;
  for (const [key, expected] of Object.entries(matchers) as [keyof Matchers, MatchValue | undefined][]) {
    if (expected === undefined) continue;
    if (!matchesValue(expected, labels[key])) return false;
  }
  return true;
}
