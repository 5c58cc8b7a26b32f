/**
 * Per-error log levels (`logLevels`), as an app sees them: each key kind, `'silent'`, lowering a
 * 5xx, the handlers' lookup order, scoping by prefix and inheritance, the routing 404/405 interplay
 * with `notFoundLogLevel`, and the keys and levels refused at registration.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import flaskErrors, { FFE_INVALID_OPTION, HTTPException, NotFound, PaymentRequired, ServiceUnavailable, abort } from '../index.js'
import type { ErrorKey, FlaskErrorsOptions } from '../index.js'
import type { LogLevel } from 'fastify'
import { API, LEVEL, build } from './helpers.js'
import type { LogLine } from './helpers.js'

/** A foreign error class without a status (a database driver's): answered as a 500. */
class DeadlockError extends Error {
  code = 'ER_LOCK_DEADLOCK'
}

/** An app with `options` and its log lines, closed when `t` ends. */
async function app (t: Test, options: FlaskErrorsOptions): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const built = await build(options)
  t.teardown(() => built.app.close())
  return built
}

/** The levels of the "answered" lines one request writes (none when it is silenced). */
async function levels (t: Test, { app, logs }: { app: FastifyInstance, logs: LogLine[] }, url: string, method = 'GET'): Promise<number[]> {
  const before = logs.length
  const response = await app.inject({ method: method as 'GET', url, headers: API })
  t.ok(response.statusCode >= 400, `${method} ${url} answers an error (${response.statusCode})`)
  return logs.slice(before).filter((line) => / answered \d{3}$/.test(line.msg)).map((line) => line.level)
}

/** The message of the refusal of `options` at registration; fails the test when they are accepted. */
async function refusal (t: Test, options: Record<string, unknown>): Promise<string> {
  const server = Fastify()
  t.teardown(() => server.close())
  try {
    await server.register(flaskErrors, options)
  } catch (error) {
    t.type(error, FFE_INVALID_OPTION, 'refused with FFE_INVALID_OPTION')
    return (error as Error).message
  }
  t.fail('accepted')
  return ''
}

/** A route with a body schema: a request without the body fails Fastify's validation (FST_ERR_VALIDATION, 400). */
function validated (target: FastifyInstance, url: string): void {
  target.post(url, { schema: { body: { type: 'object', required: ['name'] } } }, async () => 'ok')
}

t.test('a plain object silences a code and sets a status, other 4xx stay at logLevel', async (t) => {
  const built = await app(t, { logLevels: { FST_ERR_VALIDATION: 'silent', 402: 'warn' }, logLevel: 'debug' })
  validated(built.app, '/signup')
  built.app.get('/pay', () => abort(402))
  built.app.get('/gone', () => abort(410))
  t.same(await levels(t, built, '/signup', 'POST'), [], 'the validation error writes no line')
  t.same(await levels(t, built, '/pay'), [LEVEL.warn], 'the 402 at warn')
  t.same(await levels(t, built, '/gone'), [LEVEL.debug], 'a 4xx no entry names takes logLevel')
})

t.test('a list of pairs takes every key kind: status class, status, error class, code, and a cause\'s code', async (t) => {
  const built = await app(t, {
    logLevels: [
      [PaymentRequired, 'warn'],
      [409, 'debug'],
      [DeadlockError, 'warn'],
      ['E_QUOTA', 'trace'],
      ['ECONNREFUSED', 'info']
    ]
  })
  built.app.get('/pay', () => abort(402))
  built.app.get('/conflict', () => abort(409))
  built.app.get('/deadlock', async () => { throw new DeadlockError('deadlock') })
  built.app.get('/quota', async () => { throw Object.assign(new Error('over quota'), { statusCode: 429, code: 'E_QUOTA' }) })
  built.app.get('/upstream', async () => {
    throw Object.assign(new Error('bad gateway', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }), { statusCode: 502 })
  })
  t.same(await levels(t, built, '/pay'), [LEVEL.warn], 'PaymentRequired is the status 402')
  t.same(await levels(t, built, '/conflict'), [LEVEL.debug])
  t.same(await levels(t, built, '/deadlock'), [LEVEL.warn], 'a class without a status, answered 500, is named by its class')
  t.same(await levels(t, built, '/quota'), [LEVEL.trace])
  t.same(await levels(t, built, '/upstream'), [LEVEL.info], 'a cause\'s code names a 502 as it does for handlers')
})

t.test('a 5xx no entry names is logged at error, whatever logLevel says; an entry may lower one', async (t) => {
  const built = await app(t, { logLevel: 'silent', logLevels: new Map<ErrorKey, LogLevel>([[ServiceUnavailable, 'warn'], [500, 'info']]) })
  built.app.get('/busy', () => abort(503))
  built.app.get('/crash', async () => { throw new Error('bug') })
  built.app.get('/bad-gateway', () => abort(502))
  built.app.get('/string', async () => { throw 'a thrown string' }) // eslint-disable-line no-throw-literal -- a value without a status is the point
  built.app.get('/teapot', () => abort(418))
  t.same(await levels(t, built, '/busy'), [LEVEL.warn], '503 lowered to warn')
  t.same(await levels(t, built, '/crash'), [LEVEL.info], 'an error without a status is a 500, and the 500 entry names it')
  t.same(await levels(t, built, '/string'), [LEVEL.info], 'so is a thrown string')
  t.same(await levels(t, built, '/bad-gateway'), [LEVEL.error], 'an unnamed 5xx stays at error')
  t.same(await levels(t, built, '/teapot'), [], 'an unnamed 4xx takes logLevel: silent')
})

t.test('the lookup runs in the handlers\' order: class, then code, then status', async (t) => {
  class QuotaError extends HTTPException {
    static override code = 429
  }
  const built = await app(t, { logLevels: [[429, 'debug'], ['E_QUOTA', 'info'], [QuotaError, 'warn']] })
  built.app.get('/class', async () => { throw Object.assign(new QuotaError(), { code: 'E_QUOTA' }) })
  built.app.get('/code', async () => { throw Object.assign(new Error('quota'), { statusCode: 429, code: 'E_QUOTA' }) })
  built.app.get('/status', async () => { throw Object.assign(new Error('slow down'), { statusCode: 429 }) })
  t.same(await levels(t, built, '/class'), [LEVEL.warn])
  t.same(await levels(t, built, '/code'), [LEVEL.info])
  t.same(await levels(t, built, '/status'), [LEVEL.debug])
})

t.test('a later spelling of the same slot wins, as a later handler registration does', async (t) => {
  const built = await app(t, { logLevels: [[404, 'warn'], [NotFound, 'debug']] })
  built.app.get('/missing', () => abort(404))
  t.same(await levels(t, built, '/missing'), [LEVEL.debug])
})

t.test('scoped like handlers: a prefixed context\'s entries first, then its parents\'', async (t) => {
  const built = await app(t, { logLevels: { FST_ERR_VALIDATION: 'silent', 404: 'debug' }, logLevel: 'info' })
  built.app.get('/missing', () => abort(404))
  built.app.get('/gone', () => abort(410))
  await built.app.register(async (api) => {
    await api.register(flaskErrors, { logLevels: { 404: 'warn', 409: 'warn' }, logLevel: 'trace' })
    validated(api, '/signup')
    api.get('/missing', () => abort(404))
    api.get('/conflict', () => abort(409))
    api.get('/gone', () => abort(410))
  }, { prefix: '/api' })
  await built.app.register(async (plain) => {
    plain.get('/conflict', () => abort(409))
  }, { prefix: '/other' })
  t.same(await levels(t, built, '/missing'), [LEVEL.debug], 'the root\'s entry at the root')
  t.same(await levels(t, built, '/api/missing'), [LEVEL.warn], 'the context\'s own entry beats the root\'s for the same key')
  t.same(await levels(t, built, '/api/conflict'), [LEVEL.warn])
  t.same(await levels(t, built, '/api/signup', 'POST'), [], 'the root\'s entries stay in force in the context')
  t.same(await levels(t, built, '/api/gone'), [LEVEL.trace], 'an unnamed 4xx takes the context\'s logLevel')
  t.same(await levels(t, built, '/gone'), [LEVEL.info], 'and the root keeps its own')
  t.same(await levels(t, built, '/other/conflict'), [LEVEL.info], 'a sibling context does not see the /api entries')
})

t.test('across contexts the phases still decide: a parent\'s class entry beats a child\'s status entry', async (t) => {
  const built = await app(t, { logLevels: [[PaymentRequired, 'warn'], ['E_CARD', 'warn']] })
  await built.app.register(async (shop) => {
    await shop.register(flaskErrors, { logLevels: { 402: 'debug' } })
    shop.get('/pay', async () => { throw Object.assign(new Error('card declined'), { statusCode: 402, code: 'E_CARD' }) })
    shop.get('/abort', () => abort(402))
  }, { prefix: '/shop' })
  t.same(await levels(t, built, '/shop/pay'), [LEVEL.warn], 'the root\'s code entry (phase 2) before the shop\'s status entry (phase 3)')
  t.same(await levels(t, built, '/shop/abort'), [LEVEL.debug], 'PaymentRequired is a status key: phase 3, inner first')
})

t.test('a nested registration without logLevels inherits its parent\'s table', async (t) => {
  const built = await app(t, { logLevels: { 409: 'warn' } })
  await built.app.register(async (child) => {
    await child.register(flaskErrors, { format: 'json', logLevel: 'debug' })
    child.get('/conflict', () => abort(409))
    child.get('/gone', () => abort(410))
  }, { prefix: '/child' })
  t.same(await levels(t, built, '/child/conflict'), [LEVEL.warn])
  t.same(await levels(t, built, '/child/gone'), [LEVEL.debug])
})

t.test('routing 404/405: notFoundLogLevel when set, else the entry for 404/405, else logLevel', async (t) => {
  t.test('entries for 404 and 405 set the routing lines', async (t) => {
    const built = await app(t, { logLevels: new Map<ErrorKey, LogLevel>([[NotFound, 'debug'], [405, 'warn']]), logLevel: 'info' })
    built.app.get('/page', () => 'page')
    t.same(await levels(t, built, '/unknown'), [LEVEL.debug])
    t.same(await levels(t, built, '/page', 'DELETE'), [LEVEL.warn])
  })
  t.test('notFoundLogLevel wins over the entries', async (t) => {
    const built = await app(t, { logLevels: { 404: 'debug', 405: 'warn' }, notFoundLogLevel: 'silent' })
    built.app.get('/page', () => 'page')
    built.app.get('/missing', () => abort(404))
    t.same(await levels(t, built, '/unknown'), [])
    t.same(await levels(t, built, '/page', 'DELETE'), [])
    t.same(await levels(t, built, '/missing'), [LEVEL.debug], 'an app\'s own 404 is no routing miss: its entry counts')
  })
  t.test('without either, logLevel', async (t) => {
    const built = await app(t, { logLevels: { 409: 'debug' }, logLevel: 'warn' })
    t.same(await levels(t, built, '/unknown'), [LEVEL.warn])
  })
  t.test('a prefixed context that owns its routing errors uses its own entries for them', async (t) => {
    const built = await app(t, { logLevels: { 404: 'debug' } })
    await built.app.register(async (api) => {
      await api.register(flaskErrors, { logLevels: { 404: 'warn' } })
    }, { prefix: '/api' })
    t.same(await levels(t, built, '/api/unknown'), [LEVEL.warn])
    t.same(await levels(t, built, '/unknown'), [LEVEL.debug])
  })
})

t.test('an empty table changes nothing', async (t) => {
  const built = await app(t, { logLevels: {}, logLevel: 'warn' })
  built.app.get('/gone', () => abort(410))
  t.same(await levels(t, built, '/gone'), [LEVEL.warn])
  t.same(await levels(t, built, '/unknown'), [LEVEL.warn])
})

t.test('bad tables are refused at registration with a message that says the fix', async (t) => {
  const name = 'invalid fastify-flask-errors option: logLevels'
  t.equal(await refusal(t, { logLevels: { 404: 'loud' } }),
    `${name}[404] must be one of fatal, error, warn, info, debug, trace, silent, got "loud"`)
  t.equal(await refusal(t, { logLevels: [[PaymentRequired, 40]] }),
    `${name}[402] must be one of fatal, error, warn, info, debug, trace, silent, got 40`)
  t.equal(await refusal(t, { logLevels: new Map([[DeadlockError, 'INFO']]) }),
    `${name}[DeadlockError] must be one of fatal, error, warn, info, debug, trace, silent, got "INFO"`)
  t.equal(await refusal(t, { logLevels: { FST_ERR_VALIDATION: null } }),
    `${name}['FST_ERR_VALIDATION'] must be one of fatal, error, warn, info, debug, trace, silent, got null`)
  const shape = 'a Map or a list of [key, level] pairs (keys as errorhandler takes them), ' +
    'or a plain object from statuses and error codes to levels'
  t.equal(await refusal(t, { logLevels: 'warn' }), `${name} must be ${shape}, got "warn"; for every 4xx, give logLevel: "warn"`)
  t.equal(await refusal(t, { logLevels: 404 }), `${name} must be ${shape}, got 404`)
  t.equal(await refusal(t, { logLevels: new Set([404]) }), `${name} must be ${shape}, got Set object`)
  t.equal(await refusal(t, { logLevels: [[404, 'warn'], 409] }), `${name}[1] must be a [key, level] pair such as [404, 'debug'], got 409`)
  t.equal(await refusal(t, { logLevels: [[404, 'warn', 'extra']] }),
    `${name}[0] must be a [key, level] pair such as [404, 'debug'], got [404,"warn","extra"]`)
  for (const range of ['4xx', '5XX']) {
    t.equal(await refusal(t, { logLevels: { [range]: 'warn' } }), `${name} has the key '${range}': there are no range keys; ` +
      'every 4xx no entry names is logged at logLevel, every 5xx at error (it is a bug); ' +
      'to set one kind, name its status (503), its class or its error code')
  }
  for (const generic of [Error, HTTPException]) {
    t.equal(await refusal(t, { logLevels: new Map([[generic, 'warn']]) }), `${name} has the key ${generic.name}, ` +
      'which would set the level of every error, 5xx bugs included: every 4xx no entry names is logged at logLevel; ' +
      'to set one kind, name its status, its class or its error code')
  }
})

t.test('keys follow errorhandler\'s rules, and the refusal says which rule', async (t) => {
  const prefix = 'invalid fastify-flask-errors option: logLevels keys are errorhandler keys, and this one is refused: ' +
    'cannot register an error handler for '
  t.equal(await refusal(t, { logLevels: new Map([['404', 'warn']]) }),
    `${prefix}'404' (a string): a status key is a number; use the number 404: errorhandler(404)`)
  t.equal(await refusal(t, { logLevels: { 200: 'warn' } }), `${prefix}status 200: only HTTP error statuses 400–599 have handlers`)
  t.match(await refusal(t, { logLevels: { 499: 'warn' } }), `${prefix}status 499: it has no class`)
  t.match(await refusal(t, { logLevels: new Map([[Object, 'warn']]) }), `${prefix}Object: no thrown value is looked up by Object`)
  t.match(await refusal(t, { logLevels: new Map([[new DeadlockError('x'), 'warn']]) }), `${prefix}an instance of DeadlockError`)
  t.match(await refusal(t, { logLevels: new Map([['', 'warn']]) }), `${prefix}an empty string`)
  t.match(await refusal(t, { logLevels: new Map([[() => undefined, 'warn']]) }), 'without a prototype')
})

t.test('a plain object cannot hold a class: a computed class key is refused and sent to a list or Map', async (t) => {
  const message = await refusal(t, { logLevels: { [String(DeadlockError)]: 'warn' } })
  t.match(message, /^invalid fastify-flask-errors option: logLevels has the key "class DeadlockError extends Error \{[^"]{0,20}…": /)
  t.match(message, 'an error code has no spaces, and a class used as an object key becomes its source text; ' +
    "give classes in a list of pairs or a Map: [[MyError, 'warn']]")
  t.match(await refusal(t, { logLevels: { [String({})]: 'warn' } }), 'has the key "[object Object]"')
  const built = await app(t, { logLevels: new Map([['has space', 'warn']]) })
  built.app.get('/odd', async () => { throw Object.assign(new Error('odd'), { statusCode: 400, code: 'has space' }) })
  t.same(await levels(t, built, '/odd'), [LEVEL.warn], 'a Map takes any code, spaces included')
})

t.test('a SQLSTATE-like code of five digits is a code in a plain object, not a status', async (t) => {
  const built = await app(t, { logLevels: { 23505: 'warn' } })
  built.app.get('/dup', async () => { throw Object.assign(new Error('duplicate key'), { statusCode: 409, code: '23505' }) })
  t.same(await levels(t, built, '/dup'), [LEVEL.warn])
})

t.test('logLevel is one level: a table given there is sent to logLevels', async (t) => {
  const message = 'invalid fastify-flask-errors option: logLevel is the level of every 4xx no logLevels entry names, ' +
    'one of fatal, error, warn, info, debug, trace, silent; ' +
    "per-error levels go in logLevels: { FST_ERR_VALIDATION: 'silent' } or [[MyError, 'warn']]"
  t.equal(await refusal(t, { logLevel: { 404: 'debug' } }), message)
  t.equal(await refusal(t, { logLevel: new Map([[404, 'debug']]) }), message)
  t.equal(await refusal(t, { logLevel: [[404, 'debug']] }), message)
  t.equal(await refusal(t, { logLevel: 'loud' }),
    'invalid fastify-flask-errors option: logLevel must be one of fatal, error, warn, info, debug, trace, silent, got "loud"')
})

t.test('a key whose class cannot be read fails registration with that error, as errorhandler does', async (t) => {
  const hostile = new Proxy(class Hostile extends Error {}, { get () { throw new Error('get trap') } })
  const server = Fastify()
  t.teardown(() => server.close())
  await t.rejects(async () => { await server.register(flaskErrors, { logLevels: [[hostile, 'warn']] }) }, { message: 'get trap' })
  const other = Fastify()
  t.teardown(() => other.close())
  await other.register(flaskErrors)
  t.throws(() => other.errorhandler(hostile), { message: 'get trap' })
})
