// ESLint flat config. The rule that matters most: workflow code is replayed deterministically inside Temporal's
// sandbox, so it may not import Node built-ins, I/O clients or non-workflow-safe platform code at runtime.
// `import type` stays allowed: workflows proxy activities by their types only.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const IO_CLIENTS = ['pg', 'ioredis', 'kafkajs', 'mongodb', 'stripe', 'onnxruntime-node', 'koa', '@koa/router', 'jose', 'pino'];

export const workflowImportRule = [
  'error',
  {
    paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), ...IO_CLIENTS].map((name) => ({
      name,
      message: 'Workflow code runs in the deterministic sandbox: do I/O in an activity.',
      allowTypeImports: true,
    })),
    patterns: [
      {
        group: ['**/activities', '**/activities/**', '**/platform/**', '!**/platform/temporal/failure-converter', '**/api/**', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
        message: 'Workflows import activities, platform and API code as types only (import type), then proxyActivities.',
        allowTypeImports: true,
      },
    ],
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.stack/**', 'coverage/**', 'models/**/*.py'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts', 'core/**/*.ts', 'temporal-config/search-attributes.ts', 'temporal-config/namespace.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': workflowImportRule,
      'no-console': 'error',
    },
  },
);
