import { localSettings } from '../settings/local-settings';
import { loadSettings, SettingsError, GUID, DOMAIN } from '../settings/settings';
import { consentApp, onboardingText } from '../clients/consent';

/**
 * `npm run onboard -- <tenant> [<tenant> ...]`: prints the admin-consent link for each customer
 * tenant (default: every tenant in WATCH_TENANTS), for the app registration the settings sign in
 * with. It reads the settings (environment, then local.settings.json) and calls nothing.
 */
function main(args: string[]): number {
  let settings;
  try {
    const { env, notes } = localSettings(process.env);
    for (const note of notes) console.error(note);
    settings = loadSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const app = consentApp(settings);
  if ('none' in app) {
    console.error(`Nothing to consent to: ${app.none}`);
    return 1;
  }
  const tenants = args.length > 0 ? args : settings.tenants;
  if (tenants.length === 0) {
    console.error('usage: npm run onboard -- <tenant ID or domain> [...]   (or set WATCH_TENANTS)');
    return 2;
  }
  const bad = tenants.filter((t) => !GUID.test(t) && !DOMAIN.test(t));
  if (bad.length > 0) {
    console.error(`not a tenant ID (GUID) or domain name: ${bad.join(', ')}`);
    return 2;
  }
  console.log(tenants.map((t) => onboardingText(settings, app.appId, t)).join('\n\n'));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
