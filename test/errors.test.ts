/** lib/errors.ts: every error class of the plugin — codes with the FFE_ prefix, messages that name the fix. */
import t from 'tap'
import * as errors from '../lib/errors.js'

t.test('every plugin error has its FFE_ code as name of the export, a message, and is a TypeError where it is a programming error', async (t) => {
  const cases: Array<[keyof typeof errors, unknown[], RegExp, ErrorConstructor]> = [
    ['FFE_INVALID_KEY', ['status 200: only HTTP error statuses 400–599 have handlers'], /^cannot register an error handler for status 200/, TypeError],
    ['FFE_DECORATOR_TAKES_KEY_ONLY', ['app.errorhandler(404)(fn)'], /^errorhandler takes only the key and returns the decorator: app\.errorhandler\(404\)\(fn\)$/, TypeError],
    ['FFE_INVALID_HANDLER', ['string'], /must be a function \(error, request, reply\) => …, got string$/, TypeError],
    ['FFE_INVALID_OPTION', ['unknown option "x"'], /^invalid fastify-flask-errors option: unknown option "x"$/, TypeError],
    ['FFE_ROUTING_CLAIM_TOO_LATE', ['404'], /cannot register a 404 handler in a prefixed context after the app is ready/, Error],
    ['FFE_NOT_FOUND_HANDLER_TAKEN', ['/blog'], /prefix "\/blog"; remove your setNotFoundHandler and register errorhandler\(404\) instead/, Error],
    ['FFE_TEMPLATES_NOT_FOUND', ['templates: "pages" is set for the root context, but …'], /^error page templates: templates: "pages" is set/, Error],
    ['FFE_BAD_MAIL_OPTION', ['to', 'an address', '42'], /^mailReporter: to must be an address, got 42$/, TypeError],
    ['FFE_BAD_SENTRY', ['a string'], /^sentryReporter takes the Sentry SDK module: import \* as Sentry from '@sentry\/node' and pass Sentry, got a string$/, TypeError],
    ['FFE_BAD_MAIL_ENV', ['MAIL_PORT', 'a port number from 1 to 65535', '"abc"'], /^mailReporterFromEnv: MAIL_PORT must be a port number from 1 to 65535, got "abc"$/, TypeError]
  ]
  const deprecated = ['FFE_BAD_REPORTER', 'FFE_BAD_REPORT_WHEN', 'FFE_BAD_REPORT_OPTION'] as const
  for (const [name, args, message, base] of cases) {
    const ErrorClass = errors[name] as unknown as new (...a: unknown[]) => Error & { code: string }
    const error = new ErrorClass(...args)
    t.equal(error.code, name)
    t.match(error.message, message, name)
    t.type(error, base, `${name} is a ${base.name}`)
  }
  for (const name of deprecated) t.equal(errors[name], errors.FFE_INVALID_OPTION, `${name} is the old name of FFE_INVALID_OPTION, kept for instanceof checks`)
  t.equal(Object.keys(errors).length, cases.length + deprecated.length, 'every export is checked')
})

t.test('FFE_NOT_FOUND_HANDLER_TAKEN keeps the error Fastify raised as its cause', async (t) => {
  const cause = new Error('Not found handler already set')
  t.equal(new errors.FFE_NOT_FOUND_HANDLER_TAKEN('/', { cause }).cause, cause)
})

t.test('the README "Plugin errors" table lists every code', async (t) => {
  const { readFileSync } = await import('node:fs')
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const table = readme.slice(readme.indexOf('## Plugin errors'), readme.indexOf('\n## ', readme.indexOf('## Plugin errors') + 1))
  for (const name of Object.keys(errors)) t.match(table, `\`${name}\``, name)
})
