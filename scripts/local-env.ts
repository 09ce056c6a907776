import fs from 'node:fs';

/** Reads KEY=VALUE lines (the stack's generated `.stack/local.env`); variables already set keep their value. */
export function withLocalEnv(file: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!fs.existsSync(file)) return env;
  const merged = { ...env };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m && (merged[m[1]!] === undefined || merged[m[1]!] === '')) merged[m[1]!] = m[2];
  }
  return merged;
}
