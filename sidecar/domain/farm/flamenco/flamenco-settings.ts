/**
 * Does a job's `settings` object fit a job type as the manager describes it? Used before the first check (so a farm
 * whose `simple-blender-render` differs from the one this sidecar was written for is caught with a list of what
 * differs), and after a stale etag (412), where resending is only safe if the new type still takes these settings.
 */
import type { AvailableJobSetting, AvailableJobType } from './flamenco-schemas.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Every way `settings` does not fit `type`, one short phrase each; empty when it fits. */
export function settingsProblems(type: AvailableJobType, settings: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const byKey = new Map(type.settings.map((s) => [s.key, s]));
  for (const [key, value] of Object.entries(settings)) {
    const setting = byKey.get(key);
    if (!setting) problems.push(`it has no setting "${key}"`);
    else problems.push(...valueProblems(setting, value));
  }
  for (const setting of type.settings) {
    if (setting.required && !(setting.key in settings)) problems.push(`it requires the setting "${setting.key}"`);
  }
  return problems;
}

function valueProblems(setting: AvailableJobSetting, value: unknown): string[] {
  if (!hasType(setting.type, value)) return [`"${setting.key}" must be of type ${setting.type}, not ${JSON.stringify(value)}`];
  if (setting.choices && !setting.choices.includes(value as string)) {
    return [`"${setting.key}" must be one of ${setting.choices.join(', ')}, not ${JSON.stringify(value)}`];
  }
  return [];
}

function hasType(type: AvailableJobSetting['type'], value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int32':
      return Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value);
    case 'bool':
      return typeof value === 'boolean';
  }
}
