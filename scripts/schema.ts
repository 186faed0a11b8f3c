import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withRegistry } from '../lib/config/schema';

/** `npm run schema`: writes the rule registry's conditions and settings, and the channel registry's entries, into config.schema.json. */
const path = join(__dirname, '..', 'config.schema.json');
const before = readFileSync(path, 'utf8');
const after = `${JSON.stringify(withRegistry(JSON.parse(before)), null, 2)}\n`;
if (after === before) console.log('config.schema.json is up to date');
else {
  writeFileSync(path, after);
  console.log('config.schema.json updated from the rule and channel registries');
}
