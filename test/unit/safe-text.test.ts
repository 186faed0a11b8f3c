import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { noticeViews } from '../../lib/notify/notice';
import { displayLine, displayText, scrubSecrets } from '../../lib/util/safe-text';
import { noticeOf, RENDER_CONTEXT, NOW } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';
import { channelMessage, WEBHOOK } from '../support/channel-templates';

describe('scrubSecrets: what a service echoes back loses its credentials', () => {
  const teams =
    'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Z3kS-Qy_0123456789abcdefABCDEF';

  it('takes out the exact secrets in every usual encoding, and any URL query', () => {
    const secret = 'a3f9c0de11b2a3f9c0de11b2a3f9c0de11b2';
    const text = [
      `POST ${teams} failed`,
      `url=${encodeURIComponent(teams)}`,
      `{"url":${JSON.stringify(teams)}}`,
      `secret ${secret} configured`,
      'see https://other.example/path?x=1#frag and https://plain.example/ok',
    ].join('\n');
    const out = scrubSecrets(text, [teams, secret]);
    expect(out).not.toContain('Z3kS-Qy_0123456789abcdefABCDEF');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('x=1');
    expect(out).toContain('https://other.example/path?[query hidden]');
    expect(out).toContain('https://plain.example/ok');
  });

  it('takes out credential-like parameters, bearer credentials and JWT-shaped tokens, and keeps the rest', () => {
    const out = scrubSecrets(
      'token=abc123xyz&code=4/0AbCd&api-key: k-123 "client_secret":"s3cr3t" Authorization: Bearer opaque.token-1 ' +
        'X-Sig: eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.c2ln error code: 400 {"code":"BadRequest"}',
    );
    expect(out).toBe(
      'token=[redacted]&code=[redacted]&api-key: [redacted] "client_secret":"[redacted]" Authorization: Bearer [redacted] ' +
        'X-Sig: [redacted] error code: 400 {"code":"BadRequest"}',
    );
  });
});

// ---- Markdown link targets -----------------------------------------------------------------------------

/** What a CommonMark renderer decodes in a link destination: character references, then it ignores nothing else. */
function decoded(target: string): string {
  return target
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&colon;/gi, ':')
    .replace(/&(tab|newline);/gi, '');
}

/** The non-https scheme of a link target, as a browser reads it (whitespace and controls inside a scheme are dropped). */
function liveScheme(target: string): string | undefined {
  const plain = decoded(target)
    // eslint-disable-next-line no-control-regex -- a browser drops these inside a URL's scheme
    .replace(/[\s\u0000-\u001f]/g, '')
    .toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(plain)?.[1];
  return scheme && scheme !== 'https' ? scheme : undefined;
}

/** Every Markdown inline link, reference definition and autolink in the text whose target has a non-https scheme. */
function liveNonHttpsLinks(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\](?:\(|:[ \t]*)([^)\n]*)/g)) if (liveScheme(m[1] ?? '')) found.push(m[0]);
  for (const m of text.matchAll(/<([a-z][a-z0-9+.-]{1,31}:[^<>\s]*)>/gi)) if (liveScheme(m[1] ?? '')) found.push(m[0]);
  return found;
}

const SCHEMES = ['javascript', 'vbscript', 'data', 'file'];
/** A scheme written the ways renderers still read as that scheme: any case, tabs and line breaks inside, character references. */
const obfuscatedScheme = fc
  .tuple(
    fc.constantFrom(...SCHEMES),
    fc.array(fc.constantFrom('plain', 'upper', 'dec', 'hex', 'tab', 'newline', 'tab-ref'), {
      minLength: 12,
      maxLength: 12,
    }),
    fc.constantFrom(':', '&#58;', '&#x3A;', '&colon;'),
  )
  .map(([scheme, ways, colon]) => {
    const letters = [...scheme].map((c, i) => {
      switch (ways[i]) {
        case 'upper':
          return c.toUpperCase();
        case 'dec':
          return `&#${c.charCodeAt(0)};`;
        case 'hex':
          return `&#x${c.charCodeAt(0).toString(16)};`;
        case 'tab':
          return `${c}\t`;
        case 'newline':
          return `${c}\n`;
        case 'tab-ref':
          return `${c}&Tab;`;
        default:
          return c;
      }
    });
    return `${letters.join('')}${colon}`;
  });

describe("Markdown link targets with a scheme other than https are neutralised in every channel's text", () => {
  it('the checker sees what it must (so the property can fail)', () => {
    expect(liveNonHttpsLinks('[a](JaVa\tScRiPt:alert(1))')).toHaveLength(1);
    expect(liveNonHttpsLinks('[a](&#106;avascript&colon;x)')).toHaveLength(1);
    expect(liveNonHttpsLinks('<vbscript:msgbox>')).toHaveLength(1);
    expect(liveNonHttpsLinks('[a]: data:text/html,x')).toHaveLength(1);
    expect(liveNonHttpsLinks('[docs](https://learn.microsoft.com/) and [a] (javascript:x)')).toEqual([]);
  });

  it('in displayLine and displayText, however the scheme is written', () => {
    fc.assert(
      fc.property(obfuscatedScheme, fc.constantFrom('inline', 'autolink', 'reference'), (scheme, form) => {
        const text =
          form === 'inline'
            ? `Fix it: [click here](${scheme}alert(document.cookie)) now`
            : form === 'autolink'
              ? `Fix it: <${scheme}alert(1)> now`
              : `Fix it: [a]\n[a]: ${scheme}alert(1)`;
        expect(liveNonHttpsLinks(displayText(text)), displayText(text)).toEqual([]);
        expect(liveNonHttpsLinks(displayLine(text)), displayLine(text)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('in a webhook payload, while Microsoft https links and plain words with a colon stay as they were', () => {
    const hostile = hostileQuarantine();
    const alert = {
      ...hostile,
      annotations: {
        ...hostile.annotations,
        servicePrincipalName: 'Reset [here](JaVaScRiPt:alert(1)) or [there](data:text/html;base64,PHNjcmlwdD4=)',
        errorMessage:
          'See [docs](https://learn.microsoft.com/entra/), <vbscript:msgbox(1)>, [f](file:///etc/passwd) and [j](java\tscript:alert(1)). Error code: 42',
      },
    };
    const body = channelMessage(WEBHOOK, noticeViews([noticeOf(alert, 'firing')], RENDER_CONTEXT), {
      now: NOW,
      id: 'x',
    }).body;
    const texts = JSON.stringify(JSON.parse(body));
    expect(liveNonHttpsLinks(JSON.parse(body).notices[0].what as string)).toEqual([]);
    for (const value of Object.values(JSON.parse(body).notices[0]).filter((v) => typeof v === 'string'))
      expect(liveNonHttpsLinks(value as string), value as string).toEqual([]);
    expect(texts).toContain('[docs](https://learn.microsoft.com/entra/)');
    expect(texts).toContain('Error code: 42');
  });
});
