import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { TEAMS_CARD_BUDGET_BYTES } from '../../lib/notify/channels/teams';
import webhookSchema from '../../schemas/webhook-v1.json';
import { NOW } from '../fixtures/alerts';
import { channelMessage, channelTemplates, TEAMS } from '../support/channel-templates';
import { noticeTemplates } from '../support/templates';
import { expectGolden, GOLDEN_DIR, goldenFiles, UPDATING } from '../support/golden';

/**
 * Every Teams card and every webhook payload the product posts, per condition and kind, against
 * reviewed golden files in test/golden/teams/ and test/golden/webhook/ (pretty-printed; the wire
 * form is the same JSON on one line). Rewrite them with
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/channel-golden.test.ts` and review the diff.
 */

const templates = channelTemplates();
const pretty = (body: string) => `${JSON.stringify(JSON.parse(body), null, 2)}\n`;
const validate = new Ajv({ allErrors: true }).compile(webhookSchema);

describe('Teams golden files', () => {
  it.each(templates.map((t) => [t.name, t] as const))('%s matches its golden card', (name, template) => {
    expectGolden(`teams/${name}.json`, pretty(template.teams.body));
  });

  it("keeps every card within Teams' size limit, in the Workflows envelope", () => {
    for (const { name, teams } of templates) {
      expect(Buffer.byteLength(teams.body), name).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
      const envelope = JSON.parse(teams.body);
      expect(envelope.type).toBe('message');
      expect(envelope.attachments).toHaveLength(1);
      expect(envelope.attachments[0]).toMatchObject({
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { type: 'AdaptiveCard', version: '1.5' },
      });
    }
  });
});

describe('Teams card version', () => {
  it('declares 1.4 instead of 1.5 when the channel says so, and only leaves out the 1.5 heading style of its title', () => {
    const views = noticeTemplates().find((t) => t.name === 'quarantine.firing')!.views;
    const card = (cardVersion?: '1.4' | '1.5') =>
      JSON.parse(channelMessage({ ...TEAMS, cardVersion }, views, { now: NOW }).body).attachments[0].content;
    expect(card('1.4').version).toBe('1.4');
    const latest = card();
    latest.body[1] = { ...latest.body[1], style: undefined };
    expect({ ...card('1.4'), version: '1.5' }).toEqual(JSON.parse(JSON.stringify(latest)));
    // Nothing newer than Adaptive Cards 1.4 in any card: the element and action types of 1.0-1.4 only.
    const types = new Set<string>();
    for (const { teams } of templates)
      JSON.stringify(
        JSON.parse(teams.body),
        (key, value) => (key === 'type' && typeof value === 'string' && types.add(value), value),
      );
    expect([...types].sort()).toEqual([
      'Action.OpenUrl',
      'ActionSet',
      'AdaptiveCard',
      'Container',
      'FactSet',
      'TextBlock',
      'message',
    ]);
  });
});

describe('webhook golden files and schema', () => {
  it.each(templates.map((t) => [t.name, t] as const))(
    '%s matches its golden payload and validates against schemas/webhook-v1.json',
    (name, template) => {
      const message = template.webhook;
      expectGolden(`webhook/${name}.json`, pretty(message.body));
      const payload = JSON.parse(message.body);
      expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
    },
  );

  it('the schema refuses what it must: an unknown version, a notice without its alert, a non-https link', () => {
    const payload = JSON.parse(templates[0]!.webhook.body);
    expect(validate({ ...payload, version: 2 })).toBe(false);
    expect(validate({ ...payload, notices: [{ ...payload.notices[0], alert: undefined }] })).toBe(false);
    expect(
      validate({
        ...payload,
        notices: [{ ...payload.notices[0], links: [{ label: 'x', href: 'http://example.com' }] }],
      }),
    ).toBe(false);
  });
});

describe('golden folders', () => {
  it.each(['teams', 'webhook'])(
    'keeps no %s golden file that no template writes any more (update mode deletes them)',
    (folder) => {
      const expected = new Set(templates.map((t) => `${t.name}.json`));
      const stale = goldenFiles(folder).filter((file) => !expected.has(file));
      if (UPDATING) for (const file of stale) rmSync(join(GOLDEN_DIR, folder, file));
      else expect(stale).toEqual([]);
    },
  );
});
