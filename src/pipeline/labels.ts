import type { LabelRule } from '../dataset/run-spec.js';
import { LabelRuleError } from './errors.js';

/** Parses --label-from (the rules are listed on {@link LabelRule}); a regex needs a capture group. */
export function parseLabelRule(value: string): LabelRule {
  if (value === 'parent' || value === 'first' || value === 'none') return value;
  if (value.startsWith('regex:')) {
    const pattern = value.slice('regex:'.length);
    try {
      new RegExp(pattern);
    } catch (error) {
      throw new LabelRuleError(`--label-from ${value}: not a regular expression (${(error as Error).message})`, { cause: error });
    }
    if (!/\((?!\?)/.test(pattern)) throw new LabelRuleError(`--label-from ${value}: the pattern needs a capture group, e.g. regex:^([^/]+)/`);
    return value as LabelRule;
  }
  throw new LabelRuleError(`--label-from must be parent, first, none or regex:<pattern with a capture group>, not "${value}"`);
}

export function labelFor(relativePath: string, rule: LabelRule): string {
  const parts = relativePath.split('/');
  if (rule === 'parent') return parts.length > 1 ? parts[parts.length - 2] : '';
  if (rule === 'first') return parts.length > 1 ? parts[0] : '';
  if (rule === 'none') return '';
  const match = new RegExp(rule.slice('regex:'.length)).exec(relativePath);
  return match?.[1] ?? '';
}
