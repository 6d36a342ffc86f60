import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * ESLint, run by `npm test` (`npm run lint`): the recommended JavaScript and typescript-eslint rules, not the
 * type-checked ones (tsc already runs first, and the type-aware rules tripled the lint time here).
 */
export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'infra/cdk.out/', 'test-artifacts/', 'out/', 'bench-results/', 'deploy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    rules: {
      // `_` names a value kept on purpose: a destructured field left out of a copy, an ignored callback argument.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read JSON documents (EMF lines, CloudFormation templates, k8s manifests) whose shape is what they assert.
    files: ['**/*.test.ts', 'test/**/*.ts', 'infra/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
