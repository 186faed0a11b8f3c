import type { EmailContent } from '../../lib/model';
import { digestEmail } from '../../lib/notify/channels/email/digest';
import { emailFromViews } from '../../lib/notify/render';
import { digestTemplates } from './digest-templates';
import { RENDER_CONTEXT } from '../fixtures/alerts';
import { noticeTemplates } from './templates';

/** Every email the product can send, from the fixtures (test/support/templates.ts), and the daily digests (digest-templates.ts). */
export interface EmailTemplate {
  /** File-name-safe: `quarantine.firing`, `grouped.resolved`. */
  name: string;
  /** Rendered when read (see NoticeTemplate.views). */
  readonly email: EmailContent;
}

export function emailTemplates(): EmailTemplate[] {
  return [
    ...noticeTemplates().map((t) => ({
      name: t.name,
      get email() {
        return emailFromViews(t.views, { ...RENDER_CONTEXT, stillOpen: t.stillOpen });
      },
    })),
    ...digestTemplates().map((t) => ({
      name: t.name,
      get email() {
        return digestEmail(t.digest, RENDER_CONTEXT);
      },
    })),
  ];
}
