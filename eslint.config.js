// The Fastify organisation's style (neostandard: standard, for TypeScript too).
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'bench/.js/**', 'coverage/**', '.tap/**', 'test-output/**', 'examples/logs/**', 'bench/results/**']
  }),
  {
    rules: {
      // Error handlers take the error first, `(error, request, reply)`, as Fastify's and Flask's do:
      // they are not Node callbacks whose first argument reports a failure of the call itself.
      'n/handle-callback-err': 'off'
    }
  },
  {
    // The library reads in one screen width.
    files: ['index.ts', 'lib/**/*.ts'],
    rules: { '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true }] }
  }
]
