import { randomBytes } from 'node:crypto';

/** An address as ACS Email carries it on the wire. */
interface MimeAddress {
  address: string;
  displayName?: string;
}

/** What the ACS emulator writes to its outbox as an RFC 5322 message. */
export interface MimeMessage {
  messageId: string;
  date: Date;
  from: string;
  to: MimeAddress[];
  cc: MimeAddress[];
  bcc: MimeAddress[];
  replyTo?: MimeAddress[];
  subject: string;
  plainText?: string;
  html?: string;
  headers?: Record<string, string>;
  attachments?: { name: string; contentType: string; contentInBase64: string; contentId?: string }[];
}

const CRLF = '\r\n';

/** Header values never carry a line break of their own: CR/LF (and other controls) become spaces. */
function sanitizeHeaderValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** RFC 5322 field-name: printable US-ASCII except the colon. */
export function isValidHeaderName(name: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+$/.test(name);
}

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/**
 * RFC 2047 `B` encoded-words for a non-ASCII phrase or unstructured value, split so that each
 * encoded-word stays within 75 characters and no UTF-8 sequence is cut.
 */
function encodeWords(text: string): string {
  const words: string[] = [];
  let chunk = '';
  const maxBytes = 39; // base64 of 39 bytes = 52 chars; "=?UTF-8?B?" + 52 + "?=" = 64 (RFC 2047: at most 75)
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > maxBytes) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

/** An unstructured header value (Subject, custom headers): ASCII as is, anything else RFC 2047-encoded. */
function unstructured(value: string): string {
  const clean = sanitizeHeaderValue(value);
  return isAscii(clean) ? foldAscii(clean) : encodeWords(clean);
}

/** Folds a long ASCII value at spaces so lines stay short (RFC 5322 2.2.3). */
function foldAscii(value: string, firstLineUsed = 20): string {
  const words = value.split(' ');
  let out = '';
  let lineLength = firstLineUsed;
  for (const [i, word] of words.entries()) {
    if (i > 0) {
      if (lineLength + 1 + word.length > 76) {
        out += `${CRLF} `;
        lineLength = 1;
      } else {
        out += ' ';
        lineLength += 1;
      }
    }
    out += word;
    lineLength += word.length;
  }
  return out;
}

function formatAddress(a: MimeAddress): string {
  const address = sanitizeHeaderValue(a.address);
  const name = a.displayName === undefined ? '' : sanitizeHeaderValue(a.displayName);
  if (!name) return address;
  if (!isAscii(name)) return `${encodeWords(name)} <${address}>`;
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)) return `${name} <${address}>`;
  return `"${name.replace(/(["\\])/g, '\\$1')}" <${address}>`;
}

function addressList(list: MimeAddress[]): string {
  return list.map(formatAddress).join(`,${CRLF} `);
}

/** RFC 5322 date-time, e.g. `Tue, 05 May 2026 09:07:03 +0000`. */
function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** Quoted-printable (RFC 2045 6.7) of UTF-8 text, CRLF line breaks, lines of at most 76 characters. */
function quotedPrintable(text: string): string {
  const lines = text.replace(/\r\n|\r|\n/g, '\n').split('\n');
  return lines
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      const tokens: string[] = [];
      for (const [i, b] of bytes.entries()) {
        const last = i === bytes.length - 1;
        const printable = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        tokens.push(printable ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`);
      }
      let out = '';
      let current = '';
      for (const token of tokens) {
        if (current.length + token.length > 75) {
          out += `${current}=${CRLF}`;
          current = '';
        }
        current += token;
      }
      return out + current;
    })
    .join(CRLF);
}

function base64Lines(b64: string): string {
  const clean = b64.replace(/\s+/g, '');
  return (clean.match(/.{1,76}/g) ?? []).join(CRLF);
}

const boundary = (kind: string): string => `----=_acs_emulator_${kind}_${randomBytes(12).toString('hex')}`;

function textPart(subtype: 'plain' | 'html', text: string): string {
  return [
    `Content-Type: text/${subtype}; charset=utf-8`,
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable(text),
  ].join(CRLF);
}

function multipart(subtype: string, parts: string[], kind: string): string {
  const b = boundary(kind);
  return [
    `Content-Type: multipart/${subtype};${CRLF} boundary="${b}"`,
    '',
    ...parts.map((p) => `--${b}${CRLF}${p}`),
    `--${b}--`,
    '',
  ].join(CRLF);
}

/** Header names the emulator builds itself; custom headers may not replace them. */
export const RESERVED_HEADER_NAMES = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'return-path',
  'received',
]);

/** Renders a complete RFC 5322 / MIME message (CRLF line ends) that mail clients open. */
export function buildEml(m: MimeMessage): string {
  const head: string[] = [`From: ${formatAddress({ address: m.from })}`, `To: ${addressList(m.to)}`];
  if (m.cc.length) head.push(`Cc: ${addressList(m.cc)}`);
  // The outbox is the sender's copy, so it shows Bcc the way a "Sent" folder does.
  if (m.bcc.length) head.push(`Bcc: ${addressList(m.bcc)}`);
  if (m.replyTo?.length) head.push(`Reply-To: ${addressList(m.replyTo)}`);
  head.push(
    `Subject: ${unstructured(m.subject)}`,
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: <${sanitizeHeaderValue(m.messageId)}>`,
    'MIME-Version: 1.0',
  );
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (!isValidHeaderName(name) || RESERVED_HEADER_NAMES.has(name.toLowerCase())) continue;
    head.push(`${name}: ${unstructured(value)}`);
  }

  const alternatives: string[] = [];
  if (m.plainText !== undefined) alternatives.push(textPart('plain', m.plainText));
  if (m.html !== undefined) alternatives.push(textPart('html', m.html));
  let body = alternatives.length === 1 ? alternatives[0]! : multipart('alternative', alternatives, 'alt');

  if (m.attachments?.length) {
    const attachmentParts = m.attachments.map((a) => {
      const name = sanitizeHeaderValue(a.name).replace(/(["\\])/g, '\\$1');
      const lines = [
        `Content-Type: ${sanitizeHeaderValue(a.contentType)}; name="${name}"`,
        'Content-Transfer-Encoding: base64',
        `Content-Disposition: ${a.contentId ? 'inline' : 'attachment'}; filename="${name}"`,
      ];
      if (a.contentId) lines.push(`Content-ID: <${sanitizeHeaderValue(a.contentId)}>`);
      return [...lines, '', base64Lines(a.contentInBase64)].join(CRLF);
    });
    body = multipart('mixed', [body, ...attachmentParts], 'mixed');
  }
  return `${head.join(CRLF)}${CRLF}${body}${body.endsWith(CRLF) ? '' : CRLF}`;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The page written next to the .eml: the HTML body itself, or the plain text in a <pre> when there is no HTML. */
export function buildHtmlPreview(m: MimeMessage): string {
  if (m.html !== undefined) return m.html;
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(sanitizeHeaderValue(m.subject))}</title></head>`,
    `<body><pre style="white-space: pre-wrap; font-family: monospace">${escapeHtml(m.plainText ?? '')}</pre></body></html>`,
    '',
  ].join('\n');
}
