/** lib/errors.ts: the plugin's own error classes — codes with the FFE_ prefix, messages that name the fix. */
import t from 'tap'
import * as errors from '../lib/errors.js'

t.test('every plugin error has its FFE_ code as name of the export, a message, and is a TypeError where it is a programming error', async (t) => {
  const cases: Array<[keyof typeof errors, unknown[], RegExp, ErrorConstructor]> = [
    ['FFE_INVALID_KEY', ['status 200: only HTTP error statuses 400–599 have handlers'], /^cannot register an error handler for status 200/, TypeError],
    ['FFE_DECORATOR_TAKES_KEY_ONLY', ['app.errorhandler(404)(fn)'], /^errorhandler takes only the key and returns the decorator: app\.errorhandler\(404\)\(fn\)$/, TypeError],
    ['FFE_INVALID_HANDLER', ['string'], /must be a function \(error, request, reply\) => …, got string$/, TypeError],
    ['FFE_INVALID_OPTION', ['unknown option "x"'], /^invalid fastify-flask-errors option: unknown option "x"$/, TypeError],
    ['FFE_ROUTING_CLAIM_TOO_LATE', ['404'], /cannot register a 404 handler in a prefixed context after the app is ready/, Error],
    ['FFE_NOT_FOUND_HANDLER_TAKEN', ['/blog'], /prefix "\/blog"; remove your setNotFoundHandler and register errorhandler\(404\) instead/, Error]
  ]
  for (const [name, args, message, base] of cases) {
    const ErrorClass = errors[name] as unknown as new (...a: unknown[]) => Error & { code: string }
    const error = new ErrorClass(...args)
    t.equal(error.code, name)
    t.match(error.message, message, name)
    t.type(error, base, `${name} is a ${base.name}`)
  }
  t.equal(Object.keys(errors).length, cases.length, 'every export is checked')
})

t.test('FFE_NOT_FOUND_HANDLER_TAKEN keeps the error Fastify raised as its cause', async (t) => {
  const cause = new Error('Not found handler already set')
  t.equal(new errors.FFE_NOT_FOUND_HANDLER_TAKEN('/', { cause }).cause, cause)
})
