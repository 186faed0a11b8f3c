import type { DigestAlert } from '../model';
import { formatShortTime } from '../util/text';
import { SEVERITY_LABEL } from './notice';

/**
 * What a resolved notice says is still open in its route, so that "resolved" never reads as "all
 * clear" unless it is: the alerts still firing in the route's scope (as a digest counts them: the
 * route's matchers and its ancestors'), and those muted by a silence, a maintenance window or
 * another alert, which fire all the same.
 */
export interface StillOpen {
  /** Firing and told: most urgent first. */
  open: DigestAlert[];
  /** Firing but muted, each with what mutes it. */
  muted: DigestAlert[];
}

export interface StillOpenWords {
  /** `Not all clear: 1 alert is still open in this route, and 1 more is muted.` */
  headline: string;
  /** One line per alert named (at most MAX_NAMED of each), and how many more. */
  lines: string[];
}

/** How many of each list a notice names; the rest it counts. */
const MAX_NAMED = 5;

const alerts = (n: number) => (n === 1 ? '1 alert is' : `${n} alerts are`);

export function stillOpenWords(s: StillOpen, timeZone = 'UTC'): StillOpenWords {
  const { open, muted } = s;
  const headline =
    open.length === 0 && muted.length === 0
      ? 'All clear: nothing else is open in this route.'
      : open.length === 0
        ? `Nothing else is open in this route, but ${alerts(muted.length)} firing while muted.`
        : `Not all clear: ${alerts(open.length)} still open in this route${muted.length ? `, and ${muted.length} more ${muted.length === 1 ? 'is' : 'are'} muted` : ''}.`;
  const lines = [
    ...open
      .slice(0, MAX_NAMED)
      .map(
        (a) =>
          `Still open: ${a.heading} (${SEVERITY_LABEL[a.severity]}${a.since ? `, since ${formatShortTime(a.since, timeZone)}` : ''})`,
      ),
    ...(open.length > MAX_NAMED ? [`And ${open.length - MAX_NAMED} more still open.`] : []),
    ...muted.slice(0, MAX_NAMED).map((a) => `Muted: ${a.heading} (${a.mutedBy ?? 'muted'})`),
    ...(muted.length > MAX_NAMED ? [`And ${muted.length - MAX_NAMED} more muted.`] : []),
  ];
  return { headline, lines };
}
