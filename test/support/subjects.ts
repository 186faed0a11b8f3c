/**
 * Subjects as the integration tests read them. An alert's subject ends with when its firing began
 * on the monitor's clock (`… (since 27 Nov 03:05 UTC)`), which a test against the emulators does not
 * fix: `withoutSince` leaves what the test can know.
 */
export const withoutSince = (subject: string): string =>
  subject.replace(/ \(since \d{1,2} \w{3,4} \d\d:\d\d UTC[+-]?[\d:]*\)$/, '');
