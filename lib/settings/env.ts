/** The app settings as the process has them (process.env, local.settings.json's Values): names to text. */
export type Env = Record<string, string | undefined>;
