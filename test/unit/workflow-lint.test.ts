import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** Lints source text as if it lived at `file`, with the project's real ESLint config (the CLI, as `npm run lint`). */
function restrictedImportLines(code: string, file: string): number[] {
  const run = spawnSync(path.join(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', file, '--format', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  if (run.status !== 0 && run.status !== 1) throw new Error(`eslint failed: ${run.stderr}`);
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; line: number }[] }[];
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.line);
}

const lintAsWorkflow = async (code: string) => restrictedImportLines(code, 'workflows/payments/example.workflow.ts');

describe('the workflow import rule', () => {
  it.each([
    ["import { Pool } from 'pg';"],
    ["import Redis from 'ioredis';"],
    ["import { Kafka } from 'kafkajs';"],
    ["import { MongoClient } from 'mongodb';"],
    ["import Stripe from 'stripe';"],
    ["import * as ort from 'onnxruntime-node';"],
    ["import fs from 'node:fs';"],
    ["import { randomUUID } from 'crypto';"],
    ["import { createPlatformActivities } from '../../activities/platform';"],
    ["import { withTenant } from '../../platform/db/pool';"],
  ])('rejects %s in workflows/', async (line) => {
    expect(await lintAsWorkflow(`${line}\nexport const x = 1;\n`)).toEqual([1]);
  });

  it.each([
    ["import type { PlatformActivities } from '../../activities/platform';"],
    ["import type { Pool } from 'pg';"],
    ["import { proxyActivities, sleep } from '@temporalio/workflow';"],
    ["import { TenantId } from '../../temporal-config/search-attributes';"],
  ])('allows %s', async (line) => {
    expect(await lintAsWorkflow(`${line}\nexport const x = 1;\n`)).toEqual([]);
  });

  it('does not restrict activities', async () => {
    expect(restrictedImportLines("import { Pool } from 'pg';\nexport const p = Pool;\n", 'activities/payments/example.ts')).toEqual([]);
  });
});
