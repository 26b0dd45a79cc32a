import { appDisplayName, checkPair, needsValueMap } from './field-catalog';
import { pairId, clipDirection } from './effective-mapping';
import { validateRules, type Issue } from './rules';
import type { ConnectionSettings } from './settings';
import type { FieldDef } from './types';

export type { Issue } from './rules';

// Checks of settings against the two apps' catalogs, which the schema alone cannot know. The API refuses a
// connection with any issue; each message names the setting by its path.

/**
 * Every problem of the settings: unknown fields, operators that do not apply to a field's type, incompatible
 * or one-sided mapping pairs, value maps naming values the picklists do not have. Empty when all is well.
 * `names` overrides the app names shown in messages (default: the app id, capitalised).
 */
export function validateSettings(
  settings: ConnectionSettings,
  apps: { a: string; b: string },
  catalogs: { a: FieldDef[]; b: FieldDef[] },
  names?: { a: string; b: string },
): Issue[] {
  const name = names ?? { a: appDisplayName(apps.a), b: appDisplayName(apps.b) };
  const issues: Issue[] = [];
  const byKey = {
    a: new Map(catalogs.a.map((f) => [f.key, f])),
    b: new Map(catalogs.b.map((f) => [f.key, f])),
  };

  settings.mapping.disabled.forEach((entry, i) => {
    const [a, b, ...rest] = entry.split(':');
    const path = `mapping.disabled[${i}]`;
    if (rest.length > 0 || !a || !b) {
      issues.push({ path, message: `"${entry}" is not of the form "fieldA:fieldB"` });
      return;
    }
    if (!byKey.a.has(a)) issues.push({ path, message: `unknown field "${a}" in ${name.a}` });
    if (!byKey.b.has(b)) issues.push({ path, message: `unknown field "${b}" in ${name.b}` });
  });

  const seenTargets = { a: new Map<string, number>(), b: new Map<string, number>() };
  settings.mapping.custom.forEach((p, i) => {
    const path = `mapping.custom[${i}]`;
    const fa = byKey.a.get(p.a);
    const fb = byKey.b.get(p.b);
    if (!fa) issues.push({ path: `${path}.a`, message: `unknown field "${p.a}" in ${name.a}` });
    if (!fb) issues.push({ path: `${path}.b`, message: `unknown field "${p.b}" in ${name.b}` });
    if (!fa || !fb) return;
    const incompatible = checkPair(fa, fb);
    if (incompatible) {
      issues.push({ path, message: incompatible });
      return;
    }
    if (p.enabled === false) return;
    const wanted = p.direction ?? settings.direction;
    const effective = clipDirection(settings.direction, p.direction, fa, fb);
    if (effective === null) {
      const into = wanted === 'a-to-b' && fb.readOnly ? { f: fb, app: name.b } : wanted === 'b-to-a' && fa.readOnly ? { f: fa, app: name.a } : null;
      issues.push({
        path: `${path}.direction`,
        message: into
          ? `field ${into.f.label} is read-only in ${into.app}`
          : `direction "${wanted}" lets nothing flow within the connection's "${settings.direction}"`,
      });
    }
    // Two pairs writing one field would fight each other on every cycle.
    for (const s of ['a', 'b'] as const) {
      const key = s === 'a' ? p.a : p.b;
      const prior = seenTargets[s].get(key);
      if (prior !== undefined) {
        issues.push({
          path: `${path}.${s}`,
          message: `field "${key}" of ${name[s]} is already mapped by mapping.custom[${prior}]`,
        });
      } else seenTargets[s].set(key, i);
    }
    if (p.valueMap) {
      if (!needsValueMap(fa.type, fb.type)) {
        issues.push({ path: `${path}.valueMap`, message: `a value map applies only to picklists (${pairId(p.a, p.b)})` });
        return;
      }
      for (const [va, vb] of Object.entries(p.valueMap)) {
        if (fa.values && fa.values.length > 0 && !fa.values.some((v) => v.value === va)) {
          issues.push({ path: `${path}.valueMap.${va}`, message: `"${va}" is not a value of ${fa.label} in ${name.a}` });
        }
        if (fb.values && fb.values.length > 0 && !fb.values.some((v) => v.value === vb)) {
          issues.push({ path: `${path}.valueMap.${va}`, message: `"${vb}" is not a value of ${fb.label} in ${name.b}` });
        }
      }
    }
  });

  issues.push(...validateRules(settings.rules.aToB, catalogs.a, name.a, 'rules.aToB'));
  issues.push(...validateRules(settings.rules.bToA, catalogs.b, name.b, 'rules.bToA'));
  return issues;
}
