/**
 * Named points where a crash test can make this process die, to prove that a kill at that exact moment loses
 * nothing and does nothing twice. `FINFLOW_FAILPOINTS=after-provider-capture=12,relay-after-publish=3` kills the
 * process (SIGKILL, no cleanup) on the 12th pass through `after-provider-capture`, and so on. Inert when unset;
 * refused outright in production.
 */
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

export function failpoint(name: string): void {
  const killAt = spec?.get(name);
  if (!killAt) return;
  const n = (passes.get(name) ?? 0) + 1;
  passes.set(name, n);
  if (n === killAt) process.kill(process.pid, 'SIGKILL');
}
