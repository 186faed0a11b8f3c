import { aboutTheTenant } from '../evaluate/view';
import { displayLine } from '../util/safe-text';
import { countOf, NATURAL, repeatedRunbooks, type NoticeView } from './notice';

/**
 * A message's notices grouped by cause, for every channel: alerts that share a condition, an error
 * code (or reason) and a kind of notice are one section with one runbook, and the configurations it
 * hits are listed compactly in natural order (`Partner 4` before `Partner 14`). Thirty-five
 * quarantines with one error code read as one problem in five tenants, not as thirty-five.
 */

export interface CauseSection {
  /** Its notices: the first is the most urgent (the section's place and severity), the rest in natural order. */
  views: NoticeView[];
  /** `35 quarantined · AzureDirectoryB2BManagementPolicyCheckFailure · 5 tenants`; one notice's heading when it is alone. */
  title: string;
  /** How many tenants its notices are about. */
  tenants: number;
  /** An earlier section whose runbook is the same: this one says "the same as above" instead of repeating it. */
  sameStepsAs?: CauseSection;
}

/**
 * `Woodgrove to Contoso (Contoso)`: one configuration of a section, as a list names it; without its
 * tenant when the section's title names the one tenant of all, or when it is about the tenant itself.
 */
export function memberName(v: NoticeView, withTenant = true): string {
  return !withTenant || aboutTheTenant(v.view, v.alert, v.tenant) ? v.view.about : `${v.view.about} (${v.tenant})`;
}

function titleOf(views: NoticeView[], tenants: string[]): string {
  const [lead] = views as [NoticeView];
  if (views.length === 1) return lead.heading;
  const where = tenants.length === 1 ? displayLine(tenants[0], 80) : `${tenants.length} tenants`;
  return [countOf(lead.alert.labels.condition, views.length), lead.causeLabel, where]
    .filter((part) => part !== undefined && part !== '')
    .join(' · ');
}

/** The sections of a message's notices (most urgent first, as noticeViews returns them), in that order. */
export function causeSections(views: NoticeView[]): CauseSection[] {
  const byCause = new Map<string, NoticeView[]>();
  for (const v of views) byCause.set(v.cause, [...(byCause.get(v.cause) ?? []), v]);
  const sections: CauseSection[] = [...byCause.values()].map((members) => {
    const [lead, ...rest] = members as [NoticeView, ...NoticeView[]];
    const ordered = [lead, ...rest.sort((a, b) => NATURAL.compare(memberName(a), memberName(b)))];
    const tenants = [...new Set(ordered.map((v) => v.tenant))];
    return { views: ordered, title: titleOf(ordered, tenants), tenants: tenants.length };
  });
  // Two causes with the same steps (a reason whose runbook does not depend on the error code) say them once.
  const leads = sections.map((s) => s.views[0] as NoticeView);
  const repeats = repeatedRunbooks(leads);
  for (const section of sections) {
    const earlier = repeats.get(section.views[0] as NoticeView);
    if (earlier) section.sameStepsAs = sections[leads.indexOf(earlier)];
  }
  return sections;
}
