import { htmlPage } from '../util/html-page';
import { escapeHtml as e, formatTime } from '../util/text';

/**
 * The pages of the snooze endpoint, and the frame of every link page: small, script-free HTML whose
 * Content-Security-Policy allows no script and forms only to itself. Every value is escaped (an
 * alert's name comes from Graph).
 */

const LINK_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The headers of every link page (snooze, acknowledge). `Referrer-Policy: same-origin`: the link's
 * signed query never goes to another site, while the page's own form still sends an `Origin`
 * header (under `no-referrer` browsers send `Origin: null` with a POST, per the Fetch standard,
 * which would make the Origin check of lib/util/form-token.ts refuse every confirmation). No
 * framing, no caching, no sniffing.
 */
export const LINK_PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': LINK_PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'same-origin',
};

const STYLE = `body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1f; margin: 0; padding: 24px 16px; background: #f3f2f1; }
main { max-width: 560px; margin: 0 auto; background: #fff; padding: 24px; border-radius: 6px; }
h1 { font-size: 20px; margin: 0 0 12px; } .alert { font-weight: 600; overflow-wrap: anywhere; } .muted { color: #605e5c; font-size: 14px; }
label { display: block; margin: 16px 0 4px; font-size: 14px; } input[type=text] { width: 100%; box-sizing: border-box; padding: 8px; font: inherit; }
button { margin-top: 16px; padding: 10px 18px; font: inherit; font-weight: 600; color: #fff; background: #0f6cbd; border: 0; border-radius: 4px; cursor: pointer; }`;

/** A whole page of a link's endpoint (snooze, acknowledge): the shared frame (lib/util/html-page.ts) with this page's style; `style` adds rules. */
export function linkPage(title: string, main: string, style = ''): string {
  return htmlPage(title, STYLE + style, main);
}

/** What the link would do, and the button that does it (a POST of the same signed fields). */
export function confirmPage(input: {
  heading: string;
  duration: string;
  until: Date;
  fields: Record<string, string>;
}): string {
  const hidden = Object.entries(input.fields)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('\n');
  return linkPage(
    'Snooze an alert',
    `<h1>Snooze this alert for ${e(input.duration)}?</h1>
<p class="alert">${e(input.heading)}</p>
<p>Its notices (email, Teams, webhooks) stop until <strong>${e(formatTime(input.until.toISOString()))}</strong>. If it is still firing then, you hear about it again; if it ends before, its resolved notice waits until then.</p>
<form method="post">
${hidden}
<label for="by">Your name or email, for the status page (optional)</label>
<input type="text" id="by" name="by" maxlength="100" autocomplete="email">
<button type="submit">Snooze for ${e(input.duration)}</button>
</form>
<p class="muted">Nothing has changed yet: opening this page only shows what the link does.</p>`,
  );
}

export function donePage(input: { heading: string; until: Date; createdBy: string; again: boolean }): string {
  return linkPage(
    'Alert snoozed',
    `<h1>${input.again ? 'Already snoozed' : 'Snoozed'}</h1>
<p class="alert">${e(input.heading)}</p>
<p>Muted until <strong>${e(formatTime(input.until.toISOString()))}</strong>, by ${e(input.createdBy)}. The status page lists it among the silences.</p>
<p class="muted">A silence in the config file (WATCH_CONFIG, silences) mutes for longer or more alerts at once.</p>`,
  );
}

export function problemPage(title: string, text: string): string {
  return linkPage(title, `<h1>${e(title)}</h1>\n<p>${e(text)}</p>`);
}
