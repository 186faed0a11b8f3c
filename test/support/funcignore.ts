import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The two readers of .funcignore, so a test can check what a deployment package holds without
 * Core Tools or azd (neither is installable on the build machines).
 */

/**
 * Azure Functions Core Tools (`func azure functionapp publish`): a port of its GitIgnoreParser
 * (Azure/azure-functions-core-tools src/Cli/func/Common/GitIgnoreParser.cs, itself a port of
 * codemix/gitignore-parser): each pattern becomes a regex anchored at the start of the file's
 * relative path and ending at a word boundary; a leading `/` is dropped; `**` is `(.+)`, `*` is
 * `([^/]+)`. Besides .funcignore it always leaves out the directories .git and .vscode and the
 * files .funcignore, .gitignore, local.settings.json and project.lock.json (FileSystemHelpers.GetLocalFiles).
 */
export function coreToolsAccepts(funcignore: string): (path: string) => boolean {
  const lines = funcignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const prepare = (pattern: string) =>
    pattern
      .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
      .replace(/\*\*/g, '(.+)')
      .replace(/\*/g, '([^\\/]+)');
  const compile = (patterns: string[]) =>
    patterns.length > 0 ? new RegExp(`^((${patterns.map(prepare).join(')|(')}))\\b`) : /$^/;
  const strip = (l: string) => (l.startsWith('/') ? l.slice(1) : l);
  const positive = compile(lines.filter((l) => !l.startsWith('!')).map(strip));
  const negative = compile(lines.filter((l) => l.startsWith('!')).map((l) => strip(l.slice(1))));
  const alwaysDirs = new Set(['.git', '.vscode']);
  const alwaysFiles = new Set(['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json']);
  return (path) => {
    const segments = path.split('/');
    if (segments.slice(0, -1).some((s) => alwaysDirs.has(s.toLowerCase()))) return false;
    if (alwaysFiles.has((segments.at(-1) ?? '').toLowerCase())) return false;
    return negative.test(path) || !positive.test(path);
  };
}

/**
 * azd (`azd deploy` of a function service): gitignore rules. Only the subset this project uses is
 * implemented, and anything outside it is an error rather than a guess: patterns anchored at the
 * root (leading `/`, or a `/` inside), `*` within a segment, `**` as a whole segment, no negation,
 * no trailing `/`. A pattern that matches a directory leaves out everything under it.
 */
export function gitignoreAccepts(funcignore: string): (path: string) => boolean {
  const patterns = funcignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      if (line.startsWith('!')) throw new Error(`.funcignore: negation (${line}) is not supported by this reader`);
      if (line.endsWith('/'))
        throw new Error(
          `.funcignore: ${line}: a trailing slash matches directories only in gitignore but not in Core Tools`,
        );
      const body = line.startsWith('/') ? line.slice(1) : line;
      if (!line.startsWith('/') && !body.includes('/')) {
        throw new Error(
          `.funcignore: ${line} is not anchored: gitignore matches it at any depth (inside node_modules too), Core Tools only at the root`,
        );
      }
      if (body.endsWith('**')) throw new Error(`.funcignore: ${line}: a trailing ** is not supported by this reader`);
      const segments = body.split('/').map((segment) => {
        if (segment === '**') return '(?:[^/]+/)*';
        if (segment.includes('**')) throw new Error(`.funcignore: ${line}: ** must be a whole segment`);
        return `${segment.replace(/[-[\]{}()+?.\\^$|]/g, '\\$&').replace(/\*/g, '[^/]*')}/`;
      });
      return new RegExp(`^${segments.join('').slice(0, -1)}(?:/.*)?$`);
    });
  return (path) => !patterns.some((p) => p.test(path));
}

/** Every file under `root` as a developer has it (untracked and git-ignored ones too), relative with `/`, without the folders in `skip`. */
export function filesUnder(root: string, skip: Set<string>, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    const rel = relative(root, path).replace(/\\/g, '/');
    if (skip.has(rel)) return [];
    return entry.isDirectory() ? filesUnder(root, skip, path) : [rel];
  });
}

/** Whether both readers of `root`'s .funcignore put `path` into the deployment package. */
export function shipsIn(root: string): (path: string) => boolean {
  const funcignore = readFileSync(join(root, '.funcignore'), 'utf8');
  const core = coreToolsAccepts(funcignore);
  const azd = gitignoreAccepts(funcignore);
  return (path) => core(path) && azd(path);
}
