import type { ParamSpec, RuleDefinition } from '../evaluate/rule';
import { RULES } from '../evaluate/rules';
import { CHANNELS } from '../notify/channels';
import type { Channel } from '../notify/channels/channel';
import { formatDurationText } from '../util/duration';
import { KQL_NAME } from '../model/policy';

/**
 * The parts of config.schema.json that come from the registries: the condition names and each
 * rule's settings with its own parameters (lib/evaluate/rules/), and the entries a route's
 * `channels` may have (lib/notify/channels/). `npm run schema` writes them into the file; a unit
 * test fails when the file and the registries differ, so a new rule or channel cannot ship without
 * its schema.
 */

type JsonSchema = Record<string, unknown>;

function paramSchema(spec: ParamSpec): JsonSchema {
  const show = (n: number) => (spec.type === 'duration' ? formatDurationText(n) : n);
  const description = `${spec.description} (default ${typeof spec.default === 'number' ? show(spec.default) : String(spec.default)}).`;
  if (spec.type === 'boolean') return { type: 'boolean', default: spec.default, description };
  if (spec.type === 'choice') return { type: 'string', enum: spec.choices, default: spec.default, description };
  if (spec.type === 'duration') return { $ref: '#/definitions/duration', description };
  const schema: JsonSchema = { type: spec.type, description };
  if (spec.min !== undefined) schema.minimum = spec.min;
  if (spec.max !== undefined) schema.maximum = spec.max;
  schema.default = spec.default;
  return schema;
}

function settingsProperties(rule: RuleDefinition): Record<string, JsonSchema> {
  const properties: Record<string, JsonSchema> = {
    enabled:
      rule.defaultEnabled === false
        ? {
            type: 'boolean',
            default: false,
            description: 'On: this condition is raised (it is off unless switched on here or in an override).',
          }
        : { type: 'boolean', default: true, description: 'Off: this condition is never raised.' },
    severity: {
      $ref: '#/definitions/severity',
      description: `Severity of its alerts (default ${rule.defaultSeverity}).`,
    },
    pendingCycles: {
      type: 'integer',
      minimum: 0,
      default: rule.defaultPendingCycles,
      description: `Consecutive cycles the condition must be seen before it fires (default ${rule.defaultPendingCycles}; 0 fires at once).`,
    },
    keepFiringFor: {
      $ref: '#/definitions/duration',
      description: `Keep firing this long after the condition was last seen, so a flapping job does not send fire/resolve pairs (default ${formatDurationText(rule.defaultKeepFiringForMs)}).`,
    },
  };
  for (const [name, spec] of Object.entries(rule.params)) properties[name] = paramSchema(spec);
  return properties;
}

function ruleSchema(rule: RuleDefinition): JsonSchema {
  const properties = settingsProperties(rule);
  return {
    type: 'object',
    additionalProperties: false,
    description: `${rule.title}: ${rule.description}`,
    properties: {
      ...properties,
      overrides: {
        type: 'array',
        description:
          'Other settings for some tenants, apps or jobs; each override whose match fits is laid over these, later ones last.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['match'],
          properties: { match: { $ref: '#/definitions/subjectMatchers' }, ...properties },
        },
      },
    },
  };
}

/** The registry-derived definitions of config.schema.json. */
function registryDefinitions(rules: readonly RuleDefinition[] = RULES): Record<string, JsonSchema> {
  return {
    condition: {
      anyOf: [
        { enum: rules.map((rule) => rule.condition) },
        { type: 'string', pattern: KQL_NAME.source, description: 'The name of one of the rules in kqlRules.' },
      ],
      description: `${rules.map((rule) => `${rule.condition}: ${rule.description}`).join(' ')} kql-...: a rule of your own in kqlRules.`,
    },
    rules: {
      type: 'object',
      additionalProperties: false,
      description:
        'Per-condition settings over the built-in defaults: switch a condition off, change its severity, pending period, flap damping and thresholds, for everything or (overrides) for some tenants, apps or jobs.',
      properties: Object.fromEntries(rules.map((rule) => [rule.condition, ruleSchema(rule)])),
    },
  };
}

/** `Teams (a Workflows webhook) and signed JSON webhooks`. */
function andList(words: string[]): string {
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : (words[0] ?? '');
}

/** The channels a route may list, each with its own fields, from the channel registry. */
function channelDefinitions(channels: readonly Channel[] = CHANNELS): {
  channel: JsonSchema;
  channels: JsonSchema;
} {
  const entries = channels.flatMap((c) => (c.config.kind === 'entry' ? [c.config] : []));
  return {
    channel: {
      description:
        'A channel besides email. Its URL and secret are secrets: name the app settings that hold them (letters, digits, underscores), never the values. Each channel has its own notification log, retries and idempotency key; one failing never holds back another or email.',
      oneOf: entries.map((entry) => entry.schema),
    },
    channels: {
      type: 'array',
      items: { $ref: '#/definitions/channel' },
      description: `Channels besides email: ${andList(entries.map((entry) => entry.summary))}. A child route without \`channels\` inherits its parent's; \`[]\` stops the inheritance.`,
    },
  };
}

/** The matchers a rule override may use: the route matchers that are known before an alert exists. */
function subjectMatchersDefinition(matchers: { properties: Record<string, JsonSchema> }): JsonSchema {
  const keys = ['tenant', 'tenantName', 'servicePrincipal', 'app', 'jobTemplate', 'job'];
  return {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    description:
      'Which tenants, apps or jobs an override is for; every one given must match (case-insensitive, `*` wildcard, a list matches any).',
    properties: Object.fromEntries(keys.map((key) => [key, matchers.properties[key]])),
  };
}

/** One step of a route's `escalate` (lib/config/config.ts buildEscalationStep checks the same). */
const ESCALATION_STEP: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['after'],
  anyOf: [{ required: ['to'] }, { required: ['channels'], properties: { channels: { minItems: 1 } } }],
  description:
    'An alert of this route still firing and unacknowledged this long after it began (or after a change cleared its acknowledgement) is sent once to these recipients and channels, as an escalation notice with its own notification log; they also hear when it ends. Never after an acknowledgement.',
  properties: {
    after: { $ref: '#/definitions/duration', description: 'How long the alert fires unacknowledged first, e.g. 30m.' },
    to: { $ref: '#/definitions/recipients', description: 'Who gets the escalation email.' },
    cc: {
      type: 'array',
      items: { $ref: '#/definitions/email' },
      description: 'Copied on the escalation email (with `to` only).',
    },
    channels: {
      type: 'array',
      items: { $ref: '#/definitions/channel' },
      description: 'Channels the escalation goes to besides email (not inherited from the route).',
    },
    severity: {
      description: 'Only alerts of this severity (or these) escalate; every severity when absent.',
      anyOf: [
        { $ref: '#/definitions/severity' },
        { type: 'array', minItems: 1, items: { $ref: '#/definitions/severity' } },
      ],
    },
  },
};

const ESCALATE: JsonSchema = {
  type: 'array',
  maxItems: 10,
  items: { $ref: '#/definitions/escalationStep' },
  description:
    'Escalation when nobody acknowledges an alert of this route: each step is sent once per firing period after its delay. Off unless given; not inherited by child routes.',
};

/** A route definition whose `channels` property is the registry's, with its `escalate`. */
function withChannels(route: JsonSchema | undefined, channels: JsonSchema): JsonSchema | undefined {
  if (!route) return route;
  const properties = route.properties as Record<string, JsonSchema>;
  return { ...route, properties: { ...properties, channels, escalate: ESCALATE } };
}

/** config.schema.json with its registry-derived parts brought up to date. */
export function withRegistry(schema: { definitions: Record<string, JsonSchema> }): typeof schema {
  const { rule: _legacy, ...definitions } = schema.definitions;
  const { channel, channels } = channelDefinitions();
  return {
    ...schema,
    definitions: {
      ...definitions,
      ...registryDefinitions(),
      subjectMatchers: subjectMatchersDefinition(definitions.matchers as { properties: Record<string, JsonSchema> }),
      channel,
      escalationStep: ESCALATION_STEP,
      rootRoute: withChannels(definitions.rootRoute, channels) as JsonSchema,
      route: withChannels(definitions.route, channels) as JsonSchema,
    },
  };
}
