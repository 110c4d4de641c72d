import type * as z from '../zod';

/**
 * A setting one rule (or a few) reads, declared once beside the rule: the deployment writes its
 * parameter and variable (scripts/lib/deployment.ts), README's parameters table its row
 * (`npm run readme`), and loadSettings parses it with the schema at cold start. Settings every
 * function reads (the table, the guard, SSH grants the CLI checks too) stay in shared/config.ts.
 */
export interface RuleSetting<Value> {
  /** The stage parameter: `--param="<parameter>=..."`. */
  readonly parameter: string;
  /** The function's environment variable the parameter reaches. */
  readonly variable: string;
  /** The parameter's default, as written in serverless.yml (the schema reads '' as unset too). */
  readonly fallback: string;
  /** README's "meaning" cell: one line a user decides by. */
  readonly doc: string;
  /** Parses the variable's text (the fallback when unset); a failure names the variable. */
  readonly schema: z.ZodMiniType<Value>;
}

/** A rule's settings by the name its code reads them under. */
export type RuleSettings = Readonly<Record<string, RuleSetting<unknown>>>;

export type SettingValues<Declared extends RuleSettings> = {
  readonly [Name in keyof Declared]: Declared[Name] extends RuleSetting<infer Value> ? Value : never;
};

export const ruleSetting = <Value>(setting: RuleSetting<Value>): RuleSetting<Value> => setting;

/** The values loadSettings parsed, by variable (Settings.ruleSettings). */
export type ParsedRuleSettings = ReadonlyMap<string, unknown>;

/**
 * The values of declared settings as loaded at cold start. A setting no rule of this function
 * declared was never parsed: that is a wiring mistake, so it throws rather than guess a default.
 */
export function settingValues<Declared extends RuleSettings>(
  declared: Declared,
  parsed: ParsedRuleSettings,
): SettingValues<Declared> {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(declared)) {
    if (!parsed.has(setting.variable))
      throw new Error(
        `setting ${setting.variable} was not loaded: no rule given to loadSettings declares it`,
      );
    values[name] = parsed.get(setting.variable);
  }
  return values as SettingValues<Declared>;
}

/**
 * A rule's reader of its own settings: `const mine = settingsReader(declared); mine(settings).x`.
 * Read once per loaded settings (detect calls it for every resource a sweep judges).
 */
export function settingsReader<Declared extends RuleSettings>(declared: Declared) {
  const read = new WeakMap<ParsedRuleSettings, SettingValues<Declared>>();
  return (settings: { readonly ruleSettings: ParsedRuleSettings }): SettingValues<Declared> => {
    const known = read.get(settings.ruleSettings);
    if (known) return known;
    const values = settingValues(declared, settings.ruleSettings);
    read.set(settings.ruleSettings, values);
    return values;
  };
}
