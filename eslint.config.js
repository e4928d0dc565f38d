// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.engram*/**', 'bench/results/**', 'bin/**', 'tmp/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'Inject an Rng (core/random.ts).' },
      ],
    },
  },
  {
    // Cores and workflows are deterministic: time comes from an injected Clock.
    files: ['core/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: ['core/random.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Inject a Clock (core/random.ts).' }],
    },
  },
);
