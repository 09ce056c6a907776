/**
 * Named points where a crash test can make this process die, to prove that a kill at that exact moment loses
 * nothing and does nothing twice. `FINFLOW_FAILPOINTS=after-provider-charge=6,relay-after-publish=3` kills the
 * process (SIGKILL, no cleanup) on the 6th pass through `after-provider-charge`, and so on (counted per process
 * life, so a restarted process dies again on its own 6th pass). Before dying it writes one line to stderr,
 * `failpoint <name> pass <n> [<detail>]: SIGKILL`, so a supervisor can tell which step, and whose, was cut.
 * Inert when unset; refused outright in production.
 */
import fs from 'node:fs';

const spec = parse(process.env.FINFLOW_FAILPOINTS);
const passes = new Map<string, number>();

function parse(value: string | undefined): Map<string, number> | undefined {
  if (!value) return undefined;
  if (process.env.NODE_ENV === 'production') throw new Error('FINFLOW_FAILPOINTS is for crash tests and is refused in production');
  return new Map(
    value.split(',').map((entry) => {
      const [name, n] = entry.split('=');
      return [name!.trim(), Number(n)] as const;
    }),
  );
}

/** `detail` names what was in flight (e.g. a payment id); it goes into the dying line, nowhere else. */
export function failpoint(name: string, detail?: string): void {
  const killAt = spec?.get(name);
  if (!killAt) return;
  const n = (passes.get(name) ?? 0) + 1;
  passes.set(name, n);
  if (n !== killAt) return;
  fs.writeSync(2, `failpoint ${name} pass ${n}${detail ? ` ${detail}` : ''}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
