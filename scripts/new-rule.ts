import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { camelCaseId } from '../shared/config';

/**
 * `npm run new-rule -- <id>`: a new rule's skeletons from scripts/new-rule/templates (its module, its
 * thin function, its runbook, its unit test), its registry line, and README's tables regenerated.
 * The skeleton is a valid notify-only rule that finds no drift, so the project type-checks and its
 * tests pass at once; the TODO markers are what the contributor writes (README, "Adding a rule").
 */

const PROJECT = join(__dirname, '..');
const TEMPLATES = join(__dirname, 'new-rule', 'templates');
const REGISTRY = 'shared/rules/index.ts';
/** Lambda names are at most 64 characters, and the function is named `<service>-<stage>-<id>`. */
const MAX_ID_LENGTH = 32;

export class NewRuleRefused extends Error {
  override readonly name = 'NewRuleRefused';
}

/** Each file a rule gets, and the template it is written from. */
const filesOf = (id: string) => [
  { path: `shared/rules/${id}.ts`, template: 'rule.ts.tmpl' },
  { path: `functions/${id}.ts`, template: 'function.ts.tmpl' },
  { path: `docs/runbooks/${id}.md`, template: 'runbook.md.tmpl' },
  { path: `test/unit/rules/${id}.test.ts`, template: 'rule.test.ts.tmpl' },
  { path: `test/reliability/scenarios/${id}.ts`, template: 'scenario.ts.tmpl' },
];

/** Why the id cannot name a rule, or undefined when it can. */
export function invalidId(id: string): string | undefined {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)+$/.test(id))
    return `'${id}' is not a rule id: two or more lowercase words joined by '-', starting with a letter (e.g. rdp-open-to-world)`;
  if (id.length > MAX_ID_LENGTH)
    return `'${id}' is longer than ${MAX_ID_LENGTH} characters: its function is named compliance-responder-<stage>-${id}, and Lambda names are at most 64`;
  return undefined;
}

/** The registry with the rule imported and listed last (biome sorts the imports). */
export function withRegistryLine(registry: string, id: string): string {
  const name = camelCaseId(id);
  const list = /(export const rules: readonly Rule\[\] = \[\n[\s\S]*?)(\];)/;
  if (!list.test(registry))
    throw new NewRuleRefused(`${REGISTRY} has no "export const rules: readonly Rule[] = [" list`);
  return `import { ${name} } from './${id}';\n${registry.replace(list, `$1  ${name},\n$2`)}`;
}

export interface NewRuleOptions {
  /** The checkout to write into. */
  readonly root: string;
  /** A TypeScript file as `biome check --write` leaves it. */
  readonly format?: (path: string, source: string) => string;
  /** Rewrites README's generated tables once the registry lists the new rule. */
  readonly regenerateReadme?: (root: string) => void;
}

/** Writes a new rule's files and registry line; refuses, writing nothing, a bad or taken id. */
export function newRule(id: string, options: NewRuleOptions): string[] {
  const { root, format = biomeFormat, regenerateReadme = readmeTables } = options;
  const problem = invalidId(id);
  if (problem) throw new NewRuleRefused(problem);
  const files = filesOf(id);
  const registry = readFileSync(join(root, REGISTRY), 'utf8');
  const name = camelCaseId(id);
  const taken = files.map((file) => file.path).filter((path) => existsSync(join(root, path)));
  if (taken.length > 0) throw new NewRuleRefused(`'${id}' is taken: ${taken.join(', ')} already exist`);
  if (new RegExp(`\\b${name}\\b`).test(registry))
    throw new NewRuleRefused(`'${id}' is taken: ${REGISTRY} already names ${name}`);

  // Everything is rendered before anything is written, so a failure leaves the checkout as it was.
  const rendered = files.map(({ path, template }) => {
    const source = readFileSync(join(TEMPLATES, template), 'utf8')
      .replaceAll('{{id}}', id)
      .replaceAll('{{camelId}}', name);
    return { path, content: path.endsWith('.ts') ? format(path, source) : source };
  });
  rendered.push({ path: REGISTRY, content: format(REGISTRY, withRegistryLine(registry, id)) });
  for (const { path, content } of rendered) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  regenerateReadme(root);
  return rendered.map((file) => file.path);
}

function biomeFormat(path: string, source: string): string {
  return execFileSync(
    join(PROJECT, 'node_modules', '.bin', 'biome'),
    ['check', '--write', `--stdin-file-path=${path}`],
    {
      cwd: PROJECT,
      input: source,
      encoding: 'utf8',
    },
  );
}

/** In a process of its own: this one loaded the registry before the new line was written. */
function readmeTables(root: string): void {
  execFileSync(join(PROJECT, 'node_modules', '.bin', 'tsx'), [join(root, 'scripts', 'readme-tables.ts')], {
    cwd: root,
    stdio: 'inherit',
  });
}

if (require.main === module) {
  const [id = '', ...rest] = process.argv.slice(2);
  try {
    if (rest.length > 0 || id === '') throw new NewRuleRefused('usage: npm run new-rule -- <rule-id>');
    const written = newRule(id, { root: PROJECT });
    console.error(
      [
        `new rule ${id}:`,
        ...written.map((path) => `  ${path}`),
        '  README.md (rules table and mode row regenerated)',
        `Next: fill in the TODOs (grep -n TODO ${written.slice(0, -1).join(' ')}), then npm run readme,`,
        `npm run typecheck and npx jest test/unit/rules/${id}.test.ts --selectProjects unit (README, "Adding a rule").`,
      ].join('\n'),
    );
  } catch (error) {
    if (!(error instanceof NewRuleRefused)) throw error;
    console.error(`new-rule: ${error.message}; nothing was written`);
    process.exit(1);
  }
}
