/**
 * The fields a link's page gets (snooze, acknowledge): a GET's are the link's query; a POST's are
 * its confirmation form (application/x-www-form-urlencoded). A form is a few hundred bytes; a body
 * larger than `maxBytes` is not one, and gives undefined.
 */
export async function linkPageFields(
  request: { method: string; query: URLSearchParams; text(): Promise<string> },
  maxBytes = 8192,
): Promise<Record<string, string> | undefined> {
  if (request.method !== 'POST') return Object.fromEntries(request.query.entries());
  const text = await request.text();
  if (text.length > maxBytes) return undefined;
  return Object.fromEntries(new URLSearchParams(text).entries());
}

/** A request to a link's page (snooze, acknowledge), as its handler takes it. */
export interface LinkPageRequest {
  method: string;
  /** The link's query (GET) or the confirmation form (POST). */
  fields: Record<string, string | undefined>;
  /** The POST's Origin header: lib/util/form-token.ts checks it is this monitor's. */
  origin?: string;
}
