import { headerSafe } from '../util/text';
import type { CheckRow, CheckStatus, DoctorReport } from './report';

/**
 * The doctor's report as one table for a terminal (check, result, fix), at most `width` columns
 * wide, its rows grouped under a line naming their tenant (or the deployment): a GUID and a
 * 40-character Graph error code would not both fit beside each other in 100 columns. Long cells
 * wrap within their column; a row without a fix lends that column to its result; a link (an
 * admin-consent URL) is printed whole below the table as a numbered note, so it can be copied.
 * Every cell is cleaned of control characters: Graph's messages are not ours.
 */

const STATUS_WORDS: Record<CheckStatus, string> = {
  ok: 'ok',
  fail: 'FAIL',
  warn: 'WARN',
  off: 'off',
  skipped: 'skipped',
};

/** Where a word too long for its column is best cut: after one of these. */
const CUT_AFTER = /[-_/.:]/;

/** `word` in pieces of at most `width`, cut after a separator where one is near the end of a piece. */
function pieces(word: string, width: number): string[] {
  const out: string[] = [];
  let rest = word;
  while (rest.length > width) {
    let cut = width;
    for (let i = width - 1; i >= Math.floor(width / 2); i--)
      if (CUT_AFTER.test(rest.charAt(i))) {
        cut = i + 1;
        break;
      }
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
}

/** Lines of at most `width` characters: words kept whole where they fit, longer ones cut; `\n` starts a new line. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of headerSafe(paragraph, 10_000).split(' ')) {
      if (word.length > width) {
        // A word wider than the column (a long error code or path) is cut into pieces that fit.
        if (line) lines.push(line);
        const parts = pieces(word, width);
        lines.push(...parts.slice(0, -1));
        line = parts.at(-1) as string;
      } else if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line = `${line} ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** The check, result and fix columns for a table `width` wide. */
function columnWidths(width: number): [number, number, number] {
  const check = 17;
  const free = Math.max(40, width - check - 4);
  const result = Math.ceil(free * 0.53);
  return [check, result, free - result];
}

function groupTitle(row: CheckRow): string {
  // A KQL rule runs in the workspace, whatever tenant its labels name: the rules stay together.
  if (row.check.startsWith('kql:')) return 'The KQL rules, in the workspace';
  if (!row.tenant) return 'The deployment';
  return row.tenantName ? `Tenant ${row.tenantName} (${row.tenant})` : `Tenant ${row.tenant}`;
}

function summary(report: DoctorReport): string {
  const count = (status: CheckStatus) => report.checks.filter((c) => c.status === status).length;
  const failures = count('fail');
  const warnings = count('warn');
  const warned = warnings > 0 ? ` (and ${warnings} warning(s) worth a look)` : '';
  return failures > 0
    ? `${failures} check(s) the config needs failed${warned}: exit code 1.`
    : `Everything the config needs works${warned}: exit code 0.`;
}

export function renderDoctorText(report: DoctorReport, width = 100): string {
  const [checkWidth, resultWidth, fixWidth] = columnWidths(width - 1);
  const links: string[] = [];
  const noteOf = (link: string): number => {
    const known = links.indexOf(link);
    if (known >= 0) return known + 1;
    links.push(link);
    return links.length;
  };
  const tenants = new Set(report.checks.map((c) => c.tenant).filter(Boolean));
  const out: string[] = [
    `Entra Sync Watch doctor, ${report.generatedAt}: ${tenants.size > 0 ? `${tenants.size} tenant(s), ` : ''}${report.checks.length} check(s)`,
    '',
  ];
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd([checkWidth, resultWidth][i] as number)))
      .join('  ')
      .trimEnd();
  out.push(line(['CHECK', 'RESULT', 'FIX']));
  let group: string | undefined;
  for (const row of report.checks) {
    const title = groupTitle(row);
    if (title !== group) {
      out.push(...wrap(`${group === undefined ? '' : '\n'}${title}`, width - 1).map((l) => (l ? `── ${l}` : l)));
      group = title;
    }
    const fix = row.fix ? `${row.fix}${row.link ? ` [${noteOf(row.link)}]` : ''}` : '';
    const result = `${STATUS_WORDS[row.status]}: ${row.result}`;
    const check = pieces(headerSafe(row.check), checkWidth);
    // A row without a fix lends the fix column to its result.
    const cells = fix
      ? [check, wrap(result, resultWidth), wrap(fix, fixWidth)]
      : [check, wrap(result, resultWidth + 2 + fixWidth)];
    const height = Math.max(...cells.map((c) => c.length));
    for (let i = 0; i < height; i++) out.push(line(cells.map((c) => c[i] ?? '')));
  }
  if (links.length > 0) out.push('', ...links.map((link, i) => `[${i + 1}] ${headerSafe(link, 4000)}`));
  out.push('', ...wrap(summary(report), width - 1));
  return `${out.join('\n')}\n`;
}
