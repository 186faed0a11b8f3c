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

/** Cuts text to `max` characters (counting code points, never splitting a surrogate pair), marking the cut. */
export function bounded(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** One line of display text: no line breaks, controls or direction controls; foreign URLs defanged; at most `max` characters. */
export function displayLine(value: unknown, max = 300): string {
  const text = String(value ?? '')
    .replace(DIRECTION_CONTROLS, '')
    .replace(LINE_BREAKS, ' ')
    .replace(CONTROLS, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
  return bounded(defangForeignUrls(text), max);
}

/** Display text that may keep its line breaks (as \n); otherwise as displayLine. */
export function displayText(value: unknown, max = 2000): string {
  const text = String(value ?? '')
    .replace(DIRECTION_CONTROLS, '')
    .replace(/\r\n?|[\u0085\u2028\u2029]/g, '\n')
    .replace(CONTROLS, ' ')
    .trim();
  return bounded(defangForeignUrls(text), max);
}
