/**
 * Text fit to show to a reader, from any source. Display names, error messages and URLs come from
 * Graph, written by whoever controls a tenant, so before any channel escapes them they lose:
 * control characters; bidirectional controls, which can make `moc.evil` read as `live.com`
 * ("Trojan Source"); and the link-ness of URLs to sites other than Microsoft's, which mail
 * clients would otherwise turn into trusted-looking links. Long values are cut.
 */

/** Explicit embeddings, overrides, isolates and marks (U+061C, U+200E-F, U+202A-E, U+2066-9), and BOMs. */
const DIRECTION_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LINE_BREAKS = /[\r\n\t\u0085\u2028\u2029]+/g;
const URLS = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi;

/** Hosts whose links Graph may hand us and we still link: Microsoft's own (docs, aka.ms short links). */
const MICROSOFT_HOSTS = ['microsoft.com', 'microsoft.us'];
const MICROSOFT_EXACT_HOSTS = ['aka.ms', 'docs.azure.cn'];

/** Whether a URL is an https link to a Microsoft site, without credentials or an unusual port. */
export function isMicrosoftUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return false;
  const host = url.hostname.toLowerCase();
  return (
    MICROSOFT_EXACT_HOSTS.includes(host) ||
    MICROSOFT_HOSTS.some((domain) => host === domain || host.endsWith(`.${domain}`))
  );
}

/** A URL written so that no mail client turns it into a link: `hxxps://evil[.]example/x`. */
export function defangUrl(value: string): string {
  return value.replace(/^(h)tt(ps?:)/i, '$1xx$2').replace(/\./g, '[.]');
}

/** `https://evil.example` becomes `hxxps://evil[.]example`; Microsoft's own URLs stay as they are. */
function defangForeignUrls(text: string): string {
  return text.replace(URLS, (url) => (isMicrosoftUrl(url) ? url : defangUrl(url)));
}

// ---- link targets that are not https --------------------------------------------------------------

/** Character references as a Markdown renderer decodes them in a link target. */
const CHARACTER_REFERENCE = /&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z][a-z0-9]{1,31});?/gi;
const NAMED_REFERENCES: Record<string, string> = { colon: ':', tab: '\t', newline: '\n', sol: '/', period: '.' };
/** What a browser ignores inside a URL's scheme (tabs, line breaks), and what is invisible. */
// eslint-disable-next-line no-control-regex -- these are the characters a browser drops
const IGNORED_IN_SCHEME = /[\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200d\u2060\ufeff]/g;

/** The scheme a renderer and a browser would read at the start of a link target, lower-cased, or undefined. */
function schemeOf(target: string): string | undefined {
  const plain = target
    .replace(CHARACTER_REFERENCE, (_, ref: string) => {
      if (ref[0] !== '#') return NAMED_REFERENCES[ref.toLowerCase()] ?? '';
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
    })
    .replace(IGNORED_IN_SCHEME, '')
    .toLowerCase();
  return /^([a-z][a-z0-9+.-]*):/.exec(plain)?.[1];
}

const notHttps = (target: string) => {
  const scheme = schemeOf(target);
  return scheme !== undefined && scheme !== 'https';
};

/** A target shown as text: its scheme's colon written `[:]`, so nothing reads it as a link. */
function inertTarget(target: string): string {
  return target.replace(/:|&#0*58;?|&#x0*3a;?|&colon;?/i, '[:]');
}

/** Markdown inline links `[a](target` and reference definitions `[a]: target`. */
const MARKDOWN_TARGET = /\](\s*\(|:[ \t]*)([^)\s]*(?:[ \t\n][^)\s]*)*)/g;
/** Autolinks `<scheme:...>`. */
const AUTOLINK = /<(?=[a-z][a-z0-9+.-]{1,31}:)/gi;
/** `javascript:`, `data:` and their kin written out in text, written in any case, before something other than a space. */
const SCRIPT_SCHEME = /(?<![a-z0-9])(javascript|vbscript|livescript|data|file)(:|&#0*58;?|&#x0*3a;?|&colon;?)(?=\S)/gi;

/**
 * Text whose Markdown links and autolinks cannot open anything but https: a link target with any
 * other scheme (`javascript:`, `data:`, `vbscript:`, `file:`, written in any case, with tabs, line
 * breaks or character references inside) loses its link syntax (`[a] (…)`, `‹…`) and its colon
 * (`javascript[:]…`), since a receiver may render the text as Markdown. https targets stay
 * (foreign ones are defanged before this); so do words followed by a colon in prose.
 */
function inertLinks(text: string): string {
  return text
    .replace(MARKDOWN_TARGET, (match, opener: string, target: string) =>
      notHttps(target) ? `] ${opener.trim()}${opener.trim() === ':' ? ' ' : ''}${inertTarget(target)}` : match,
    )
    .replace(AUTOLINK, (match, offset: number, whole: string) =>
      notHttps(whole.slice(offset + 1, offset + 40)) ? '‹' : match,
    )
    .replace(SCRIPT_SCHEME, '$1[:]');
}

/** Cuts text to `max` characters (counting code points, never splitting a surrogate pair), marking the cut. */
export function bounded(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** One line of display text: no line breaks, controls or direction controls; foreign URLs defanged, links that are not https made inert; at most `max` characters. */
export function displayLine(value: unknown, max = 300): string {
  const text = String(value ?? '')
    .replace(DIRECTION_CONTROLS, '')
    .replace(LINE_BREAKS, ' ')
    .replace(CONTROLS, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return bounded(inertLinks(defangForeignUrls(text)), max);
}

/** Display text that may keep its line breaks (as \n); otherwise as displayLine. */
export function displayText(value: unknown, max = 2000): string {
  const text = String(value ?? '')
    .replace(DIRECTION_CONTROLS, '')
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(CONTROLS, ' ')
    .trim();
  return bounded(inertLinks(defangForeignUrls(text)), max);
}

// ---- credentials in text a service sent back ---------------------------------------------------------

const REDACTED = '[redacted]';
/** Every absolute URL: a scheme, `://`, then up to a space, quote or angle bracket. */
const ANY_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;
/** `sig=…`, `token=…`, `"client_secret":"…"`, `X-…-Signature: …`: names that hold credentials, with their value. */
const SECRET_PARAMS =
  /\b((?:[a-z]+[_-])*(?:sig|signature|token|secret|password|passwd|pwd|apikey|api[_-]key|key|accesskey|sharedaccesskey|credential|code))(["']?\s*=\s*["']?|["']?\s*:\s*["']?)([^\s&"',;<>]+)/gi;
/** Names whose value is only a credential after `=` (a query parameter), not in prose (`code: 400`). */
const QUERY_ONLY = /^(?:[a-z]+[_-])*code$/i;
const AUTH_SCHEMES = /\b(Bearer|Basic|SharedAccessSignature|SharedKey)\s+[A-Za-z0-9._~+/=:%-]+/gi;
const JWT_SHAPED = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/** The forms a secret may take in an answer: as is, URL-encoded, JSON-escaped; for a URL also its query and each parameter's value. */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  try {
    const url = new URL(secret);
    if (url.search.length > 1) forms.add(url.search.slice(1));
    for (const value of url.searchParams.values()) if (value.length >= 6) forms.add(value);
    if (url.hash.length > 1) forms.add(url.hash.slice(1));
  } catch {
    // not a URL: its plain forms are enough
  }
  return [...forms].filter((f) => f.length >= 6).sort((a, b) => b.length - a.length);
}

/**
 * Text a service sent back (a receiver's error page, an exception's message), with every
 * credential it may echo taken out before it is logged or kept: the exact secret values the caller
 * knows (a channel's URL and signing secret, in any of their usual encodings), the query and
 * fragment of every URL (where a Teams `sig` or a webhook token lives), `sig=`/`token=`/`key=`/
 * `code=`-like parameters, `Bearer …` credentials and JWT-shaped tokens. Not bounded: callers cut it.
 */
export function scrubSecrets(text: string, secrets: (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets.filter((s): s is string => typeof s === 'string' && s.length > 0))
    for (const form of secretForms(secret)) out = out.split(form).join(REDACTED);
  out = out.replace(ANY_URL, (url) => {
    const cut = url.search(/[?#]/);
    return cut < 0 ? url : `${url.slice(0, cut)}?[query hidden]`;
  });
  out = out.replace(AUTH_SCHEMES, (_, scheme: string) => `${scheme} ${REDACTED}`);
  out = out.replace(JWT_SHAPED, REDACTED);
  return out.replace(SECRET_PARAMS, (match, name: string, separator: string, value: string) =>
    (QUERY_ONLY.test(name) && !separator.includes('=')) || value === REDACTED || value.startsWith('[')
      ? match
      : `${name}${separator}${REDACTED}`,
  );
}
