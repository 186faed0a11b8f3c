import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import GithubSlugger, { slug } from 'github-slugger';
import { Lexer, marked, type Token, type TokensList } from 'marked';

/**
 * Relative links in Markdown, checked the way GitHub renders them: the target file exists, and a
 * `#anchor` names a heading of the target (GitHub's slugs, from github-slugger: lower case, spaces to
 * hyphens, punctuation dropped, a repeated heading gets -1, -2...). Links with a scheme (https:,
 * mailto:) are not followed. Markdown is parsed with marked, so text inside code is never a link.
 */

/** A link that does not resolve: in which file, to what, and why. */
export interface BrokenLink {
  file: string;
  target: string;
  problem: string;
}

/** README.md and every Markdown file under docs/, relative to `root`, sorted. */
export function documentationFiles(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return ['README.md', ...walk('docs')].sort();
}

/** The anchors GitHub gives a Markdown text: one per heading, plus explicit `id`/`name` attributes of HTML. */
export function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  marked.walkTokens(Lexer.lex(markdown), (token) => {
    if (token.type === 'heading') anchors.add(slugger.slug(plainText(token.tokens ?? [])));
    if (token.type === 'html') for (const id of attributes(token.raw, ['id', 'name'])) anchors.add(id);
  });
  return anchors;
}

/** Every link target of a Markdown text: links, images, and href/src of inline HTML (such as `<img src>`). */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  marked.walkTokens(Lexer.lex(markdown), (token) => {
    if (token.type === 'link' || token.type === 'image') targets.push(token.href);
    if (token.type === 'html') targets.push(...attributes(token.raw, ['href', 'src']));
  });
  return targets;
}

/**
 * The relative links of `markdown` (the text of `file`, an absolute path) that do not resolve.
 * `readTarget` reads another Markdown file for its headings (the file system by default).
 */
export function brokenLinks(
  file: string,
  markdown: string,
  root: string,
  readTarget: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const name = relative(root, file);
  const anchorCache = new Map<string, Set<string>>([[file, anchorsOf(markdown)]]);
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    const hash = target.indexOf('#');
    const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const path = pathPart === '' ? file : resolve(dirname(file), pathPart);
    if (path !== file && !existsSync(path)) {
      broken.push({ file: name, target, problem: `${relative(root, path)} does not exist` });
      continue;
    }
    if (anchor === undefined) continue;
    if (path !== file && (!path.endsWith('.md') || statSync(path).isDirectory())) {
      broken.push({ file: name, target, problem: `an anchor on ${relative(root, path)}, which has no headings` });
      continue;
    }
    if (!anchorCache.has(path)) anchorCache.set(path, anchorsOf(readTarget(path)));
    const anchors = anchorCache.get(path)!;
    if (!anchors.has(anchor)) {
      broken.push({ file: name, target, problem: `${relative(root, path)} has no heading #${anchor}` });
    }
  }
  return broken;
}

/** The text a heading shows (what GitHub makes its slug from): code without backticks, links as their text, no HTML. */
function plainText(tokens: Token[] | TokensList): string {
  return tokens
    .map((token) => {
      if (token.type === 'html') return '';
      if ('tokens' in token && token.tokens && token.tokens.length > 0) return plainText(token.tokens);
      return 'text' in token && typeof token.text === 'string' ? token.text : '';
    })
    .join('');
}

/** The values of the named attributes in a piece of HTML. */
function attributes(html: string, names: string[]): string[] {
  const pattern = new RegExp(`\\b(?:${names.join('|')})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'gi');
  return [...html.matchAll(pattern)].map((match) => match[1] ?? match[2] ?? '');
}

/** A place in the code that cites a section of the documentation: `docs/channels.md, "Webhooks"` or `README "Deploy"`. */
export interface SectionCitation {
  file: string;
  page: string;
  heading: string;
}

/** Citations of a documentation section in a text: the page (README.md or docs/...md) and the heading's words. */
export function sectionCitations(file: string, text: string): SectionCitation[] {
  const pattern = /(?<![\w/.])(README|docs\/[\w/-]+\.md)(?:,\s*|\s+|\s*\(\s*)\\?"([^"\\\n]+)\\?"/g;
  return [...text.matchAll(pattern)].map((match) => ({
    file,
    page: match[1] === 'README' ? 'README.md' : match[1]!,
    heading: match[2]!,
  }));
}

/** The citations whose page does not exist or has no heading of those words (GitHub's slug of both). */
export function staleCitations(citations: SectionCitation[], root: string): SectionCitation[] {
  const anchors = new Map<string, Set<string>>();
  return citations.filter((citation) => {
    const path = join(root, citation.page);
    if (!existsSync(path)) return true;
    if (!anchors.has(path)) anchors.set(path, anchorsOf(readFileSync(path, 'utf8')));
    return !anchors.get(path)!.has(slug(citation.heading));
  });
}

/** The project's own text files (code, templates, configuration, notes), relative to `root`: where citations live. */
export function projectTextFiles(root: string): string[] {
  const skip = new Set([
    'node_modules',
    '.git',
    'dist',
    '.emulator',
    'outbox',
    'reports',
    'coverage',
    'test-artifacts',
    '.stryker-tmp',
    '.azure',
  ]);
  const text = /\.(ts|mts|mjs|cjs|js|json|bicep|yaml|yml|kql|md|txt|html)$|^\.funcignore$|^run$/;
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      if (skip.has(entry.name)) return [];
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) return walk(path);
      return text.test(entry.name) && entry.name !== 'package-lock.json' ? [path] : [];
    });
  return walk('');
}
