/** What the functions of the link pages (snooze, acknowledge, decide) read of an HTTP request. */
interface PageHttpRequest {
  method: string;
  query: URLSearchParams;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * A POST's confirmation form (application/x-www-form-urlencoded). A form is a few hundred bytes; a
 * body larger than `maxBytes` is not one, and gives undefined.
 */
export async function formFields(
  request: Pick<PageHttpRequest, 'text'>,
  maxBytes = 8192,
): Promise<Record<string, string> | undefined> {
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

/**
 * A link page's request from the HTTP one: a GET's fields are the link's query, a POST's its
 * confirmation form, with the Origin header; undefined for a body too large to be a form.
 */
export async function linkPageRequest(request: PageHttpRequest): Promise<LinkPageRequest | undefined> {
  const fields = request.method === 'POST' ? await formFields(request) : Object.fromEntries(request.query.entries());
  if (!fields) return undefined;
  const origin = request.headers.get('origin') ?? undefined;
  return { method: request.method, fields, ...(origin ? { origin } : {}) };
}
