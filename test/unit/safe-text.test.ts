import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../lib/notify/safe-text';

describe('scrubSecrets: what a service echoes back loses its credentials', () => {
  const teams =
    'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Z3kS-Qy_0123456789abcdefABCDEF';

  it('takes out the exact secrets in every usual encoding, and any URL query', () => {
    const secret = 'a3f9c0de11b2a3f9c0de11b2a3f9c0de11b2';
    const text = [
      `POST ${teams} failed`,
      `url=${encodeURIComponent(teams)}`,
      `{"url":${JSON.stringify(teams)}}`,
      `secret ${secret} configured`,
      'see https://other.example/path?x=1#frag and https://plain.example/ok',
    ].join('\n');
    const out = scrubSecrets(text, [teams, secret]);
    expect(out).not.toContain('Z3kS-Qy_0123456789abcdefABCDEF');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('x=1');
    expect(out).toContain('https://other.example/path?[query hidden]');
    expect(out).toContain('https://plain.example/ok');
  });

  it('takes out credential-like parameters, bearer credentials and JWT-shaped tokens, and keeps the rest', () => {
    const out = scrubSecrets(
      'token=abc123xyz&code=4/0AbCd&api-key: k-123 "client_secret":"s3cr3t" Authorization: Bearer opaque.token-1 ' +
        'X-Sig: eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.c2ln error code: 400 {"code":"BadRequest"}',
    );
    expect(out).toBe(
      'token=[redacted]&code=[redacted]&api-key: [redacted] "client_secret":"[redacted]" Authorization: Bearer [redacted] ' +
        'X-Sig: [redacted] error code: 400 {"code":"BadRequest"}',
    );
  });
});
