import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATOR_ROLE } from '../../lib/settings/actions';
import { SIGNED_IN_PATH } from '../../lib/actions/sign-in';
import {
  AZURE_ROLES,
  GRAPH_ACTION_PERMISSIONS,
  GRAPH_APPLICATION_PERMISSIONS,
  SECRETS_READ,
  SECRETS_READ_FIX,
  SECRETS_READ_MISSING,
  MICROSOFT_GRAPH_APP_ID,
} from '../../lib/clients/permissions';
import { CLOUDS } from '../../lib/settings/clouds';
import { DEPLOYMENT_SETTINGS } from '../../lib/settings/settings';
import { CYCLE_METRICS_EVENT } from '../../lib/cycle/metrics';
import { NODE_WORKER_ARGUMENTS } from '../../lib/settings/worker-arguments';
import { localCloudSettings } from '../../scripts/local-settings';
import { parse as parseYaml } from 'yaml';
import {
  allowedValues,
  blockAt,
  conditionOf,
  evaluateCondition,
  INFRA,
  keysOf,
  moduleArguments,
  modulesOf,
  paramsOf,
  readInfra,
  resourcesOf,
  stringArray,
  stringVars,
  valueOf,
} from '../support/bicep';

/**
 * The contract between the code and infra/: what the code reads and needs (derived from the code:
 * its sources, DEPLOYMENT_SETTINGS next to loadSettings, lib/clients/permissions.ts) against what
 * the Bicep templates set and grant. No Bicep compiler runs here, so the templates' own wiring
 * (module parameters, azd parameters) is checked too.
 */
const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}
const code = [...sourceFiles('lib'), ...sourceFiles('functions')].map((file) => ({
  file,
  text: readFileSync(file, 'utf8'),
}));

/** Names of settings the code reads: `env.NAME`, `process.env.NAME`, `env['NAME']`, `helper(env, 'NAME')`. */
function settingsReadByCode(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [
    /\b(?:process\.)?env\??\.([A-Za-z_][A-Za-z0-9_]*)/g,
    /\benv\[\s*'([^']+)'\s*\]/g,
    /\(\s*env\s*,\s*'([A-Za-z_][A-Za-z0-9_]*)'/g,
  ];
  for (const { file, text } of code)
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.set(m[1] as string, file);
  return found;
}

const api = readInfra('app/api.bicep');
const main = readInfra('main.bicep');
const appSettingsBlock = blockAt(api, api.search(/^var appSettings\s*=/m));
const appSettings = keysOf(appSettingsBlock);
const kind = DEPLOYMENT_SETTINGS as Record<string, string>;

describe('app settings: what the code reads, the template sets', () => {
  it('lists every setting the code reads in DEPLOYMENT_SETTINGS', () => {
    const read = settingsReadByCode();
    expect([...read.keys()]).toEqual(
      expect.arrayContaining([
        'WATCH_TENANTS',
        'ALERT_EMAIL_TO',
        'ACS_ENDPOINT',
        'AZURE_CLIENT_ID',
        'WATCH_APP_CLIENT_ID',
        'AZURE_CLOUD',
      ]),
    );
    const unlisted = [...read]
      .filter(([name]) => !(name in DEPLOYMENT_SETTINGS))
      .map(([name, file]) => `${name} (read in ${file})`);
    expect(unlisted).toEqual([]);
  });

  it('sets every required setting and every setting the Functions host needs', () => {
    expect(appSettings.length).toBeGreaterThan(10);
    const needed = Object.entries(kind)
      .filter(([, k]) => k === 'required' || k === 'host')
      .map(([name]) => name);
    expect(needed.filter((name) => !appSettings.includes(name))).toEqual([]);
    expect(appSettings.filter((name) => !(name in kind) || kind[name] === 'platform')).toEqual([]);
  });

  it('sets no secret, key or connection string: the managed identity reaches everything', () => {
    for (const secret of [
      'AZURE_CLIENT_SECRET',
      'AZURE_CLIENT_CERTIFICATE_PATH',
      'ACS_CONNECTION_STRING',
      'AzureWebJobsStorage',
    ])
      expect(appSettings).not.toContain(secret);
    expect(valueOf(appSettingsBlock, 'AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(valueOf(appSettingsBlock, 'AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(valueOf(appSettingsBlock, 'AZURE_CLIENT_ID')).toBe('identityClientId');
    expect(valueOf(appSettingsBlock, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe(
      "'ClientId=${identityClientId};Authorization=AAD'",
    );
    expect(readInfra('app/storage.bicep')).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(readInfra('app/monitoring.bicep')).toMatch(/DisableLocalAuth:\s*true/);
    for (const file of readdirSync(INFRA, { recursive: true }) as string[]) {
      if (file.endsWith('.bicep'))
        expect(readInfra(file), file).not.toMatch(/listKeys\(|listConnectionStrings\(|AccountKey=/);
    }
  });

  it('sends from the ACS domain it creates, through the endpoint it creates', () => {
    const email = readInfra('app/email.bicep');
    expect(valueOf(appSettingsBlock, 'ALERT_EMAIL_FROM')).toBe('senderAddress');
    expect(valueOf(appSettingsBlock, 'ACS_ENDPOINT')).toBe('acsEndpoint');
    expect(email).toMatch(/domainManagement:\s*'AzureManaged'/);
    expect(email).toMatch(
      /^output senderAddress string = .*'DoNotReply@\$\{emailService::managedDomain\.properties\.mailFromSenderDomain\}'/m,
    );
    expect(email).toMatch(/^output endpoint string = 'https:\/\/\$\{communication\.properties\.hostName\}'/m);
    const apiModule = modulesOf(main).find((m) => m.symbol === 'api');
    expect(valueOf(apiModule?.block ?? '', 'senderAddress')).toBe('email.outputs.senderAddress');
    expect(valueOf(apiModule?.block ?? '', 'acsEndpoint')).toBe('email.outputs.endpoint');
  });

  it('runs on Flex Consumption, Node 22, as the user-assigned identity', () => {
    expect(api).toMatch(/name:\s*'FC1'\s*\n\s*tier:\s*'FlexConsumption'/);
    expect(api).toMatch(/runtime:\s*\{\s*\n\s*name:\s*'node'\s*\n\s*version:\s*'22'/);
    expect(api).toMatch(/type:\s*'UserAssigned'/);
    expect(api).toMatch(/type:\s*'UserAssignedIdentity'/); // the deployment package is read with it too
  });
});

describe("the Node worker's arguments (languageWorkers__node__arguments)", () => {
  const expected = NODE_WORKER_ARGUMENTS.join(' ');

  it('are the same in the template, the local sample, the local cloud and the bench (lib/settings/worker-arguments.ts)', () => {
    expect(valueOf(appSettingsBlock, 'languageWorkers__node__arguments')).toBe(`'${expected}'`);
    expect(localCloudSettings({}, '/ca.pem').Values.languageWorkers__node__arguments).toBe(expected);
    const sample = JSON.parse(readFileSync(join(root, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(sample.Values.languageWorkers__node__arguments).toBe(expected);
    expect(readFileSync(join(root, 'scripts', 'bench.ts'), 'utf8')).toContain('NODE_WORKER_ARGUMENTS');
  });

  it('are accepted by this Node: a worker started with one it refused would never run a cycle', () => {
    const run = spawnSync(process.execPath, [...NODE_WORKER_ARGUMENTS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    // Something a Node refuses does fail that way, so the check above can tell.
    expect(spawnSync(process.execPath, ['--heap-growing-percentage=50', '-e', '0']).status).not.toBe(0);
  });
});

describe('template wiring (what a Bicep compiler would catch)', () => {
  it('passes every module each parameter it needs, and no parameter it does not declare', () => {
    const files = ['main.bicep', ...(readdirSync(join(INFRA, 'app')) as string[]).map((f) => `app/${f}`)].filter((f) =>
      f.endsWith('.bicep'),
    );
    for (const file of files) {
      for (const module of modulesOf(readInfra(file))) {
        const target = join(file, '..', module.target);
        const declared = paramsOf(readInfra(target));
        const passed = moduleArguments(module);
        expect(
          declared.filter((p) => !p.hasDefault && !passed.includes(p.name)).map((p) => p.name),
          `${file} → ${module.target}`,
        ).toEqual([]);
        expect(
          passed.filter((name) => !declared.some((p) => p.name === name)),
          `${file} → ${module.target}`,
        ).toEqual([]);
      }
    }
  });

  it('gets every parameter of main.bicep from azd (main.parameters.json), and only those', () => {
    const azd = Object.keys(
      (JSON.parse(readInfra('main.parameters.json')) as { parameters: Record<string, unknown> }).parameters,
    );
    const params = paramsOf(main);
    expect(params.filter((p) => !p.hasDefault && !azd.includes(p.name)).map((p) => p.name)).toEqual([]);
    expect(azd.filter((name) => !params.some((p) => p.name === name))).toEqual([]);
  });

  it('is what azure.yaml deploys with azd', () => {
    const yaml = readFileSync(join(root, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/^infra:\s*\n\s+provider: bicep\s*\n\s+path: infra$/m);
    expect(yaml).toMatch(/^ {2}api:\s*\n\s+project: \.\s*\n\s+language: ts\s*\n\s+host: function$/m);
    expect(api).toMatch(/'azd-service-name': 'api'/);
  });
});

/** `enableActions` is a parameter defaulting to false, and alone adds the action permissions to what is granted. */
function expectWriteOnlyWithActions(template: string): void {
  expect(stringArray(template, 'actionPermissions').sort()).toEqual(actionPermissions);
  expect(paramsOf(template)).toContainEqual({ name: 'enableActions', type: 'bool', hasDefault: true });
  expect(template).toMatch(/^param enableActions bool = false$/m);
  expect(template).toMatch(
    /^var graphPermissions = enableActions \? concat\(readPermissions, actionPermissions\) : readPermissions$/m,
  );
  // Outside comments and descriptions, the write permission is named nowhere but in actionPermissions.
  const naming = template
    .split('\n')
    .filter((line) => !/^\s*(\/\/|@description)/.test(line) && line.includes('Synchronization.ReadWrite.All'));
  expect(naming).toEqual([`var actionPermissions = ['Synchronization.ReadWrite.All']`]);
}
const actionPermissions = Object.keys(GRAPH_ACTION_PERMISSIONS).sort();

describe('Microsoft Graph application permissions', () => {
  const permissions = Object.keys(GRAPH_APPLICATION_PERMISSIONS).sort();

  it('names only permissions the deployment grants, wherever the code mentions one', () => {
    const mentioned = new Set(
      code.flatMap(({ text }) =>
        [...text.matchAll(/\b[A-Z][A-Za-z]+\.(?:Read|ReadWrite)(?:\.[A-Z][A-Za-z]+)?\.All\b/g)].map((m) => m[0]),
      ),
    );
    expect(mentioned.size).toBeGreaterThan(1);
    // The secrets read's permission is unknown: the code names what is known to work as a fact and a
    // choice left to the operator, never as something the deployment grants (the tests below).
    const known: readonly string[] = SECRETS_READ.knownToWork;
    expect(
      [...mentioned].filter((p) => !permissions.includes(p) && !actionPermissions.includes(p) && !known.includes(p)),
    ).toEqual([]);
    expect(known.filter((p) => permissions.includes(p) || actionPermissions.includes(p))).toEqual([]);
    // Reading never needs to write.
    expect(permissions.filter((p) => actionPermissions.includes(p))).toEqual([]);
  });

  it('says what is known of the secrets read in the docs with the same names and sources as the log, the status view and the alert', () => {
    const docs = readFileSync(join(root, 'docs', 'deploying.md'), 'utf8');
    const section = docs.slice(docs.indexOf('### Reading the synchronization secrets'));
    expect(section.length).toBeGreaterThan(500);
    for (const name of [SECRETS_READ.tried, ...SECRETS_READ.knownToWork, `${SECRETS_READ.setting}=off`]) {
      expect(section).toContain(name);
      expect(`${SECRETS_READ_MISSING} ${SECRETS_READ_FIX}`).toContain(name.replace('=off', ''));
    }
    for (const source of SECRETS_READ.sources) expect(section).toContain(source);
  });

  it('grants them to the managed identity when it reads its own tenant, and the write permission only with enableActions', () => {
    const roles = readInfra('app/graph-roles.bicep');
    expect(stringArray(roles, 'readPermissions').sort()).toEqual(permissions);
    expectWriteOnlyWithActions(roles);
    expect(roles).toMatch(/^extension microsoftGraphV1$/m);
    expect(roles).toContain(`appId: '${MICROSOFT_GRAPH_APP_ID}'`);
    const assignment = resourcesOf(roles).find((r) => r.target === 'Microsoft.Graph/appRoleAssignedTo@v1.0');
    expect(assignment?.head).toMatch(/\[\s*for permission in graphPermissions:/);
    expect(valueOf(assignment?.block ?? '', 'principalId')).toBe('principalId');
    const module = modulesOf(main).find((m) => m.target === 'app/graph-roles.bicep');
    expect(valueOf(module?.block ?? '', 'principalId')).toBe('identity.outputs.principalId');
    expect(valueOf(module?.block ?? '', 'enableActions')).toBe('enableActions');
  });

  it('requires and grants them to the multi-tenant app, whose only credential is the managed identity', () => {
    const app = readInfra('app/multi-tenant-app.bicep');
    expect(stringArray(app, 'readPermissions').sort()).toEqual(permissions);
    expectWriteOnlyWithActions(app);
    expect(
      valueOf(modulesOf(main).find((m) => m.target === 'app/multi-tenant-app.bicep')?.block ?? '', 'enableActions'),
    ).toBe('enableActions');
    const application = resourcesOf(app).find((r) => r.target === 'Microsoft.Graph/applications@v1.0')?.block ?? '';
    expect(application).toMatch(/signInAudience:\s*'AzureADMultipleOrgs'/);
    expect(application).toMatch(/for permission in graphPermissions: \{[^}]*type: 'Role'/);
    expect(application).not.toMatch(/passwordCredentials|keyCredentials/);
    const fic = blockAt(application, application.indexOf("'federatedIdentityCredentials@v1.0'"));
    expect(valueOf(fic, 'subject')).toBe('managedIdentityPrincipalId');
    expect(valueOf(fic, 'issuer')).toBe('issuer');
    expect(valueOf(fic, 'audiences')).toBe('[tokenExchangeAudience]');
    const assignment = resourcesOf(app).find((r) => r.target === 'Microsoft.Graph/appRoleAssignedTo@v1.0');
    expect(assignment?.head).toMatch(/\[\s*for permission in graphPermissions:/);
    expect(valueOf(assignment?.block ?? '', 'principalId')).toBe('servicePrincipal.id');
    const module = modulesOf(main).find((m) => m.target === 'app/multi-tenant-app.bicep');
    expect(valueOf(module?.block ?? '', 'managedIdentityPrincipalId')).toBe('identity.outputs.principalId');
    expect(valueOf(module?.block ?? '', 'issuer')).toBe(
      "'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'",
    );
    expect(main).toMatch(/watchAppClientId: multiTenant \? multiTenantApp\.outputs\.appId : ''/);
  });

  it('uses the portal and token exchange audience the code uses, in every cloud', () => {
    const clouds = blockAt(main, main.search(/^var clouds\s*=/m));
    const armNames: Record<string, string> = {
      AzurePublicCloud: 'AzureCloud',
      AzureUSGovernment: 'AzureUSGovernment',
      AzureChinaCloud: 'AzureChinaCloud',
    };
    for (const cloud of Object.values(CLOUDS)) {
      const line = clouds.split('\n').find((l) => l.trim().startsWith(`${armNames[cloud.name]}:`)) ?? '';
      expect(line, cloud.name).toContain(`name: '${cloud.name}'`);
      expect(line, cloud.name).toContain(`portal: '${cloud.portal}/'`);
      expect(line, cloud.name).toContain(`tokenExchangeAudience: '${cloud.tokenExchangeAudience}'`);
    }
  });
});

describe('decisions from an alert (enableActions)', () => {
  it('are off by default: no write permission, no sign-in app, WATCH_ACTIONS off', () => {
    expect(main).toMatch(/^param enableActions bool = false$/m);
    const azd = JSON.parse(readInfra('main.parameters.json')) as { parameters: Record<string, { value: string }> };
    expect(azd.parameters.enableActions?.value).toBe('${ENABLE_ACTIONS=false}');
    const signIn = modulesOf(main).find((m) => m.target === 'app/sign-in-app.bicep');
    expect(signIn?.head).toMatch(/= if \(enableActions\)/);
    const apiModule = modulesOf(main).find((m) => m.target === 'app/api.bicep')?.block ?? '';
    expect(valueOf(apiModule, 'watchActions')).toBe("enableActions ? watchActions : 'off'");
    expect(valueOf(apiModule, 'actionsSignInClientId')).toBe("enableActions ? signInApp.outputs.appId : ''");
    expect(appSettings).toEqual(
      expect.arrayContaining(['WATCH_ACTIONS', 'ACTIONS_SIGNIN_CLIENT_ID', 'ACTIONS_BASE_URL']),
    );
    expect(valueOf(appSettingsBlock, 'WATCH_ACTIONS')).toBe('watchActions');
    expect(api).toMatch(/^param watchActions string = 'off'$/m);
    // The signing key is a secret: never a parameter in clear, only in the secret settings.
    expect(api).not.toMatch(/ACTIONS_SIGNING_KEY:/);
  });

  it('make a home-tenant sign-in app with the operator role, assignment required and no secret', () => {
    const app = readInfra('app/sign-in-app.bicep');
    const application = resourcesOf(app).find((r) => r.target === 'Microsoft.Graph/applications@v1.0')?.block ?? '';
    expect(application).toMatch(/signInAudience:\s*'AzureADMyOrg'/);
    expect(application).not.toMatch(/passwordCredentials|keyCredentials/);
    expect(stringVars(app).get('operatorRole')).toBe(OPERATOR_ROLE);
    expect(application).toMatch(/allowedMemberTypes: \['User'\]/);
    expect(application).not.toMatch(/type: 'Role'/);
    const sp = resourcesOf(app).find(
      (r) => r.target === 'Microsoft.Graph/servicePrincipals@v1.0' && !/existing/.test(r.head),
    );
    expect(sp?.block).toMatch(/appRoleAssignmentRequired: true/);
    const fic = blockAt(application, application.indexOf("'federatedIdentityCredentials@v1.0'"));
    expect(valueOf(fic, 'subject')).toBe('managedIdentityPrincipalId');
    const module = modulesOf(main).find((m) => m.target === 'app/sign-in-app.bicep')?.block ?? '';
    expect(valueOf(module, 'redirectUri')).toBe(`'\${actionsBaseUrl}${SIGNED_IN_PATH}'`);
    // azd down deletes it (infra/hooks/app-registration.ts), known by this unique name.
    expect(valueOf(module, 'uniqueName')).toBe('actionsSignInUniqueName');
    expect(main).toMatch(/^var actionsSignInUniqueName = 'entra-sync-watch-signin-\$\{resourceToken\}'$/m);
    expect(main).toMatch(/^output ACTIONS_SIGNIN_UNIQUE_NAME string = enableActions \? actionsSignInUniqueName : ''$/m);
    expect(main).toMatch(/^output ACTIONS_ENABLED bool = enableActions$/m);
    expect(valueOf(module, 'grantConsent')).toBe('grantGraphRoles');
    expect(conditionOf(resourcesOf(app).find((r) => r.symbol === 'consent')!)).toBe('grantConsent');
    expect(valueOf(module, 'managedIdentityPrincipalId')).toBe('identity.outputs.principalId');
    expect(valueOf(modulesOf(main).find((m) => m.target === 'app/api.bicep')?.block ?? '', 'actionsBaseUrl')).toBe(
      "enableActions ? actionsBaseUrl : ''",
    );
  });
});

describe('Azure roles of the managed identity', () => {
  const rbac = readInfra('app/rbac.bicep');
  const roleIds = stringVars(rbac);
  const resources = resourcesOf(rbac);
  const scopeTypes: Record<string, string> = {
    storage: 'Microsoft.Storage/storageAccounts',
    communication: 'Microsoft.Communication/communicationServices',
    applicationInsights: 'Microsoft.Insights/components',
  };

  it('grants each role the code needs, to the identity, on its own resource', () => {
    const assignments = resources
      .filter((r) => r.target.startsWith('Microsoft.Authorization/roleAssignments@'))
      .map((r) => ({
        scope: valueOf(r.block, 'scope'),
        roleId: roleIds.get(/roleDefinitions',\s*(\w+)\)/.exec(r.block)?.[1] ?? ''),
        principal: valueOf(r.block, 'principalId'),
      }));
    for (const role of AZURE_ROLES.filter((r) => r.deployed)) {
      const scope = resources.find((r) => r.target.startsWith(`${scopeTypes[role.scope]}@`))?.symbol;
      expect(scope, role.name).toBeDefined();
      expect(assignments, role.name).toContainEqual({
        scope,
        roleId: role.id,
        principal: 'managedIdentityPrincipalId',
      });
    }
    const module = modulesOf(main).find((m) => m.target === 'app/rbac.bicep');
    expect(valueOf(module?.block ?? '', 'managedIdentityPrincipalId')).toBe('identity.outputs.principalId');
  });

  it('knows the role of every Azure client the code uses', () => {
    const clients = new Set(
      code.flatMap(({ text }) =>
        [...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'(@azure\/[^'/]+)/gm)].map((m) => m[1] as string),
      ),
    );
    for (const notAClient of ['@azure/identity', '@azure/msal-node', '@azure/functions', '@azure/core-auth'])
      clients.delete(notAClient);
    expect(clients.size).toBeGreaterThan(1);
    expect([...clients].filter((client) => !AZURE_ROLES.some((r) => r.neededBy === client))).toEqual([]);
  });
});

describe("the second dead man's switch", () => {
  it('alerts when no cycle-metrics trace arrived in 15 minutes, by email independent of ACS', () => {
    const alerts = readInfra('app/alerts.bicep');
    const kqlPath = /loadTextContent\('([^']+)'\)/.exec(alerts)?.[1] ?? '';
    const kql = readFileSync(join(INFRA, 'app', kqlPath), 'utf8');
    expect(existsSync(join(INFRA, 'app', kqlPath))).toBe(true);
    expect(kql).toContain(`"${CYCLE_METRICS_EVENT} "`);
    const column = /metricMeasureColumn:\s*'(\w+)'/.exec(alerts)?.[1];
    expect(kql).toMatch(new RegExp(`summarize ${column} = sum\\(itemCount\\)`));
    expect(alerts).toMatch(/windowSize:\s*'PT15M'/);
    expect(alerts).toMatch(/operator:\s*'LessThan'\s*\n\s*threshold:\s*1\b/);
    expect(alerts).toMatch(/emailReceivers:/);
    const module = modulesOf(main).find((m) => m.target === 'app/alerts.bicep');
    expect(valueOf(module?.block ?? '', 'applicationInsightsId')).toBe('monitoring.outputs.id');
  });
});

describe('where it deploys: regions with Flex Consumption only', () => {
  const regions = allowedValues(main, 'location') ?? [];
  const azdParameters = JSON.parse(readInfra('main.parameters.json')) as {
    parameters: Record<string, { value: string }>;
  };

  it('allows only region names, each once, and no canary region customers cannot use', () => {
    expect(regions.length).toBeGreaterThan(20);
    for (const region of regions) expect(region, region).toMatch(/^[a-z]+[a-z0-9]*$/);
    expect(new Set(regions).size).toBe(regions.length);
    expect([...regions].sort()).toEqual(regions);
    expect(regions.filter((r) => r.endsWith('euap'))).toEqual([]);
    for (const region of ['eastus', 'westeurope', 'swedencentral', 'australiaeast']) expect(regions).toContain(region);
  });

  it('keeps the list in one place, says where it came from and how to refresh it', () => {
    const decorators = main.slice(0, main.search(/^param location /m));
    expect(decorators).toMatch(/Azure-Samples\/functions-quickstart-typescript-azd/);
    expect(decorators).toMatch(/az functionapp list-flexconsumption-locations/);
    expect(main).toMatch(/@metadata\(\{ azd: \{ type: 'location' \} \}\)\s*\nparam location string$/m);
    const elsewhere = (readdirSync(INFRA, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.bicep') && f !== 'main.bicep')
      .filter((f) => readInfra(f).includes("'swedencentral'"));
    expect(elsewhere).toEqual([]);
  });

  it('still gets location from azd (AZURE_LOCATION) and passes it on, so azd prompts with these regions only', () => {
    expect(azdParameters.parameters.location?.value).toBe('${AZURE_LOCATION}');
    expect(paramsOf(main).find((p) => p.name === 'location')).toEqual({
      name: 'location',
      type: 'string',
      hasDefault: false,
    });
    expect(main).toMatch(/^output AZURE_LOCATION string = location$/m);
  });
});

describe('GRANT_GRAPH_ROLES: the template grants Graph app roles only when it is true, in both modes', () => {
  const azdParameters = JSON.parse(readInfra('main.parameters.json')) as {
    parameters: Record<string, { value: string }>;
  };

  /** Which files' Graph app-role assignments deploy, for the given values of main.bicep's parameters. */
  function grantsDeployed(values: Record<string, boolean>): string[] {
    const deployed: string[] = [];
    for (const module of modulesOf(main)) {
      const file = readInfra(module.target);
      const assignments = resourcesOf(file).filter((r) => r.target.startsWith('Microsoft.Graph/appRoleAssignedTo@'));
      if (assignments.length === 0) continue;
      const moduleCondition = conditionOf(module);
      if (moduleCondition !== undefined && !evaluateCondition(moduleCondition, values)) continue;
      // The module's boolean arguments become the file's parameters.
      const args = blockAt(module.block, module.block.search(/\bparams\s*:\s*\{/));
      const inner: Record<string, boolean> = {};
      for (const p of paramsOf(file).filter((p) => p.type === 'bool')) {
        const passed = valueOf(args, p.name);
        inner[p.name] =
          passed === undefined
            ? /=\s*true\s*$/.test(file.match(new RegExp(`^param ${p.name} .*$`, 'm'))?.[0] ?? '')
            : evaluateCondition(passed, values);
      }
      for (const assignment of assignments) {
        const condition = conditionOf(assignment);
        if (condition === undefined || evaluateCondition(condition, inner))
          deployed.push(`${module.target}:${assignment.symbol}`);
      }
    }
    return deployed;
  }

  it('false: none, with one tenant or many; true: the identity or the multi-tenant app gets them', () => {
    for (const enableActions of [false, true]) {
      expect(grantsDeployed({ multiTenant: false, grantGraphRoles: false, enableActions })).toEqual([]);
      expect(grantsDeployed({ multiTenant: true, grantGraphRoles: false, enableActions })).toEqual([]);
      expect(grantsDeployed({ multiTenant: false, grantGraphRoles: true, enableActions })).toEqual([
        'app/graph-roles.bicep:identityRoles',
      ]);
      expect(grantsDeployed({ multiTenant: true, grantGraphRoles: true, enableActions })).toEqual([
        'app/multi-tenant-app.bicep:appRoles',
      ]);
    }
  });

  it('is the azd setting GRANT_GRAPH_ROLES (default true), and the hooks learn what the template did', () => {
    expect(azdParameters.parameters.grantGraphRoles?.value).toBe('${GRANT_GRAPH_ROLES=true}');
    expect(main).toMatch(/^output GRAPH_ROLES_GRANTED bool = grantGraphRoles$/m);
  });
});

describe('the azd hooks (azure.yaml, infra/hooks/)', () => {
  const project = parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as {
    hooks?: Record<string, Record<'posix' | 'windows', { shell: string; run: string; interactive?: boolean }>>;
  };
  const hooksDir = join(INFRA, 'hooks');

  it('runs the postprovision and postdown hooks with node and tsx, the same command on POSIX and Windows', () => {
    expect(Object.keys(project.hooks ?? {}).sort()).toEqual(['postdown', 'postprovision']);
    for (const [name, hook] of Object.entries(project.hooks ?? {})) {
      expect(hook.posix.shell, name).toBe('sh');
      expect(hook.windows.shell, name).toBe('pwsh');
      expect(hook.posix.run, name).toBe(`node --import tsx infra/hooks/${name}.ts`);
      expect(hook.windows.run, name).toBe(hook.posix.run);
      expect(hook.posix.interactive && hook.windows.interactive, name).toBe(true);
      expect(existsSync(join(hooksDir, `${name}.ts`)), name).toBe(true);
    }
    // tsx is a production dependency: the hooks need it on a machine that installed with `npm ci --omit=dev`.
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeDefined();
  });

  it('reads only what the azd environment holds: an output of main.bicep', () => {
    const outputs = [...main.matchAll(/^output (\w+) /gm)].map((m) => m[1] as string);
    const read = new Set<string>();
    for (const file of readdirSync(hooksDir).filter((f) => f.endsWith('.ts')))
      for (const m of readFileSync(join(hooksDir, file), 'utf8').matchAll(/\benv\.([A-Za-z_]\w*)/g))
        read.add(m[1] as string);
    expect(read.size).toBeGreaterThan(4);
    expect([...read].filter((name) => !outputs.includes(name))).toEqual([]);
  });

  it("knows the multi-tenant app by a uniqueName made from this environment's subscription, name and region", () => {
    expect(main).toMatch(
      /^var resourceToken = toLower\(uniqueString\(subscription\(\)\.id, environmentName, location\)\)$/m,
    );
    expect(main).toMatch(/^var watchAppUniqueName = 'entra-sync-watch-\$\{resourceToken\}'$/m);
    const module = modulesOf(main).find((m) => m.target === 'app/multi-tenant-app.bicep');
    expect(valueOf(module?.block ?? '', 'uniqueName')).toBe('watchAppUniqueName');
    const app = resourcesOf(readInfra('app/multi-tenant-app.bicep')).find(
      (r) => r.target === 'Microsoft.Graph/applications@v1.0',
    );
    expect(valueOf(app?.block ?? '', 'uniqueName')).toBe('uniqueName');
    expect(main).toMatch(/^output WATCH_APP_UNIQUE_NAME string = multiTenant \? watchAppUniqueName : ''$/m);
  });

  it('waits for the role of the identity the deployment storage authenticates with, on that account', () => {
    const api = readInfra('app/api.bicep');
    const storageAuth = blockAt(api, api.search(/\bauthentication\s*:\s*\{/));
    expect(valueOf(storageAuth, 'type')).toBe("'UserAssignedIdentity'");
    expect(main).toMatch(/^output AZURE_STORAGE_ACCOUNT_ID string = storage\.outputs\.id$/m);
    expect(main).toMatch(/^output MANAGED_IDENTITY_PRINCIPAL_ID string = identity\.outputs\.principalId$/m);
    expect(readInfra('app/storage.bicep')).toMatch(/^output id string = storage\.id$/m);
    const rbac = readInfra('app/rbac.bicep');
    expect(rbac).toMatch(/^var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'/m);
  });
});
