/**
 * Fields that make a log line findable: which tenant, job and alert it is about. Optional on every
 * call, so call sites adopt them one by one; the Functions logger appends them as JSON, which
 * Application Insights keeps in the trace's message (queryable with `parse_json`, see infra/monitoring/).
 */
export interface LogFields {
  tenantId?: string;
  servicePrincipalId?: string;
  jobId?: string;
  /** The alert's fingerprint. */
  alert?: string;
  condition?: string;
  [name: string]: string | number | boolean | undefined;
}

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** `message {"tenantId":"..."}`: the line a log sink receives, fields last so the message reads first. */
export function withFields(message: string, fields?: LogFields): string {
  if (!fields) return message;
  const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  return Object.keys(present).length > 0 ? `${message} ${JSON.stringify(present)}` : message;
}

/** The log methods of a Functions InvocationContext (kept structural: lib does not depend on the host). */
export interface HostContextLog {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The host's logger: each line goes to Application Insights as a trace, its fields as JSON after the message. */
export function hostLogger(context: HostContextLog): Logger {
  return {
    info: (m, fields) => context.log(withFields(m, fields)),
    warn: (m, fields) => context.warn(withFields(m, fields)),
    error: (m, fields) => context.error(withFields(m, fields)),
  };
}
