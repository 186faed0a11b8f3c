import { linkPage } from '../snooze/page';
import { escapeHtml as e, formatTime } from '../util/text';

/**
 * The pages of the acknowledge endpoint: the snooze pages' frame (small, script-free, every value
 * escaped: an alert's name comes from Graph, a name and a comment from whoever confirms), sent with
 * the link pages' headers (LINK_PAGE_HEADERS), which let the form's POST carry an Origin to check.
 */

const STYLE = `
fieldset { border: 0; margin: 16px 0 0; padding: 0; } legend { font-size: 14px; margin-bottom: 4px; }
.choice { display: flex; gap: 8px; align-items: flex-start; margin: 6px 0; overflow-wrap: anywhere; } .choice input { margin-top: 5px; }
textarea { width: 100%; box-sizing: border-box; padding: 8px; font: inherit; min-height: 4em; }
.ack { background: #e7f6e9; border-left: 4px solid #107c10; padding: 10px 12px; margin: 12px 0; overflow-wrap: anywhere; }`;

/** How the page asks who is acknowledging. */
export type WhoField =
  { kind: 'signed-in'; name: string } | { kind: 'recipients'; recipients: string[] } | { kind: 'name'; where: string };

/** The most characters of a name and of a comment. */
export const MAX_WHO_CHARS = 100;
export const MAX_COMMENT_CHARS = 300;

function whoField(who: WhoField): string {
  switch (who.kind) {
    case 'signed-in':
      return `<p>You are signed in as <strong>${e(who.name)}</strong>: the acknowledgement is recorded in your name.</p>`;
    case 'recipients': {
      const only = who.recipients.length === 1;
      const choices = who.recipients
        .map(
          (address, i) =>
            `<label class="choice"><input type="radio" name="who" value="${e(address)}" id="who-${i}" required${only ? ' checked' : ''}> <span>${e(address)}</span></label>`,
        )
        .join('\n');
      return `<fieldset><legend>Who is acknowledging? (the message went to these people)</legend>\n${choices}\n</fieldset>`;
    }
    case 'name':
      return `<label for="who">Your name or email (the message went to ${e(who.where)}, so the monitor cannot tell who you are)</label>
<input type="text" id="who" name="who" required maxlength="${MAX_WHO_CHARS}" autocomplete="email">`;
  }
}

/** What acknowledging does, and the form that does it (a POST of the same signed fields and the form's token). */
export function confirmPage(input: {
  heading: string;
  since: string;
  who: WhoField;
  fields: Record<string, string>;
  /** Who had acknowledged it before a change cleared it, when one did. */
  clearedBefore?: string;
}): string {
  const hidden = Object.entries(input.fields)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('\n');
  return linkPage(
    'Acknowledge an alert',
    `<h1>Acknowledge this alert?</h1>
<p class="alert">${e(input.heading)}</p>
<p class="muted">Firing since ${e(formatTime(input.since))}.${input.clearedBefore ? ` ${e(input.clearedBefore)}` : ''}</p>
<p>Acknowledging tells everyone you are on it: reminders stop on every route and channel, no further escalation goes out, and later messages and the status page say who acknowledged it and when. A change (a new reason or error code, a higher severity) or the end of the alert clears it.</p>
<form method="post">
${hidden}
${whoField(input.who)}
<label for="comment">Comment (optional, shown with the acknowledgement)</label>
<textarea id="comment" name="comment" maxlength="${MAX_COMMENT_CHARS}"></textarea>
<button type="submit">Acknowledge</button>
</form>
<p class="muted">Nothing has changed yet: opening this page only shows what the link does.</p>`,
    STYLE,
  );
}

/** The alert is acknowledged: by whom, when, and what that means now. */
export function acknowledgedPage(input: {
  heading: string;
  by: string;
  at: string;
  comment?: string;
  /** Not this request's doing: it was acknowledged already (by this link or another). */
  already: boolean;
}): string {
  return linkPage(
    'Alert acknowledged',
    `<h1>${input.already ? 'Already acknowledged' : 'Acknowledged'}</h1>
<p class="alert">${e(input.heading)}</p>
<div class="ack">Acknowledged by <strong>${e(input.by)}</strong> at ${e(formatTime(input.at))}.${input.comment ? `<br>“${e(input.comment)}”` : ''}</div>
<p>No reminders go out about it on any route or channel, and no further escalation, until it changes (a new reason or error code, a higher severity) or ends. Its later messages and the status page show this acknowledgement.</p>`,
    STYLE,
  );
}
