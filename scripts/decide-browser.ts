import type { DecideRequest, DecideResponse } from '../lib/actions/handler';

/**
 * A person's browser, as far as the decide pages (lib/actions/) need one, for the demo and the
 * end-to-end tests: a cookie jar for the Function App's host, redirects followed (to the authority
 * over HTTPS, back to the app), forms posted with the page's Origin. `loginHint` picks who the
 * (emulated) authority signs in; `serve` answers the app's requests (the decide function, or its
 * handler with dependencies built from settings).
 */

export type Serve = (request: DecideRequest) => Promise<DecideResponse>;

export class Browser {
  readonly jar = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly serve: Serve,
    private readonly loginHint?: string,
  ) {}

  private remember(response: DecideResponse): void {
    for (const c of response.cookies) {
      if (c.maxAgeSeconds <= 0) this.jar.delete(c.name);
      else this.jar.set(c.name, c.value);
    }
  }

  async open(url: string): Promise<DecideResponse> {
    for (let hop = 0; hop < 6; hop++) {
      const target = new URL(url);
      if (target.origin !== this.base) {
        if (this.loginHint) target.searchParams.set('login_hint', this.loginHint);
        const answer = await fetch(target, { redirect: 'manual' });
        url = answer.headers.get('location') ?? '';
        if (answer.status !== 302 || !url)
          throw new Error(`the authority answered ${answer.status}: ${await answer.text()}`);
        continue;
      }
      const step = target.pathname.replace(/^\/api\/decide\/?/, '');
      const response = await this.serve({
        method: 'GET',
        step,
        query: Object.fromEntries(target.searchParams),
        form: {},
        cookies: Object.fromEntries(this.jar),
      });
      this.remember(response);
      if (response.status !== 302 && response.status !== 303) return response;
      url = response.headers.Location ?? '';
    }
    throw new Error('too many redirects');
  }

  async post(form: Record<string, string>, origin = this.base): Promise<DecideResponse> {
    const response = await this.serve({
      method: 'POST',
      step: '',
      query: {},
      form,
      cookies: Object.fromEntries(this.jar),
      origin,
    });
    this.remember(response);
    return response;
  }
}

/** The hidden fields of the form whose button says `button`. */
export function formOf(html: string, button: string): Record<string, string> {
  const form = [...html.matchAll(/<form method="post"[^>]*>([\s\S]*?)<\/form>/g)]
    .map((m) => m[1] as string)
    .find((f) => f.includes(button));
  if (!form) throw new Error(`no form with "${button}"`);
  const decode = (v: string) =>
    v
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return Object.fromEntries(
    [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [
      m[1] as string,
      decode(m[2] as string),
    ]),
  );
}
