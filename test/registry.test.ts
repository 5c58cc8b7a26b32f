/**
 * lib/registry.ts as a unit: key normalisation and its messages, handler tables, the four-phase
 * lookup over scopes (with handlers already tried), and the Registry's scope chains, option merge
 * and cache.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import { FFE_DECORATOR_TAKES_KEY_ONLY, FFE_INVALID_HANDLER, FFE_INVALID_KEY } from '../lib/errors.js'
import { BadRequest, HTTPException, InternalServerError, NotFound, RangeNotSatisfiable } from '../lib/exceptions.js'
import { Registry, Scope, addHandler, findHandler, normalizeKey } from '../lib/registry.js'
import type { HandlerEntry } from '../lib/registry.js'
import { readThrown } from '../lib/thrown.js'
import { API, build } from './helpers.js'

class InvalidAPIUsage extends Error {}
class UserNotFound extends NotFound {}
class ConnectionError extends Error {}
class ConnectionRefusedError extends ConnectionError {}

/** A stand-in for a Fastify context: the registry only needs identity and the prototype chain. */
function context (parent?: object): FastifyInstance {
  return Object.create(parent ?? null) as FastifyInstance
}

function refusal (t: Test, fn: () => unknown, cls: typeof FFE_INVALID_KEY | typeof FFE_INVALID_HANDLER | typeof FFE_DECORATOR_TAKES_KEY_ONLY, label: string): string {
  try {
    fn()
  } catch (error) {
    t.type(error, cls, label)
    t.type(error, TypeError, `${label}: a TypeError`)
    return (error as Error).message
  }
  t.fail(`${label}: not refused`)
  return ''
}

const KEY = 'cannot register an error handler for '

t.test('normalizeKey: accepted keys', async (t) => {
  t.same(normalizeKey(404), { kind: 'status', status: 404 })
  t.same(normalizeKey(400), { kind: 'status', status: 400 })
  t.same(normalizeKey(511), { kind: 'status', status: 511 })
  t.same(normalizeKey(NotFound), { kind: 'status', status: 404 }, 'a status class is its status (404 ≡ NotFound)')
  t.same(normalizeKey(RangeNotSatisfiable), { kind: 'status', status: 416 }, 'an alias too')
  t.same(normalizeKey('FST_ERR_VALIDATION'), { kind: 'code', code: 'FST_ERR_VALIDATION' })
  t.same(normalizeKey('ECONNREFUSED'), { kind: 'code', code: 'ECONNREFUSED' })
  t.same(normalizeKey(HTTPException), { kind: 'generic', which: 'HTTPException' })
  t.same(normalizeKey(Error), { kind: 'generic', which: 'Error' })
  t.same(normalizeKey(InvalidAPIUsage), { kind: 'class', prototype: InvalidAPIUsage.prototype, name: 'InvalidAPIUsage' })
  t.same(normalizeKey(UserNotFound), { kind: 'class', prototype: UserNotFound.prototype, name: 'UserNotFound' }, 'a subclass of a status class is specific')
  class SiteFrozen extends HTTPException { static override code = 599 }
  t.same(normalizeKey(SiteFrozen), { kind: 'class', prototype: SiteFrozen.prototype, name: 'SiteFrozen' })
  t.same(normalizeKey(TypeError), { kind: 'class', prototype: TypeError.prototype, name: 'TypeError' })
  const anonymous = [class extends Error {}][0]
  t.same(normalizeKey(anonymous), { kind: 'class', prototype: anonymous.prototype, name: '<anonymous class>' })
  function LegacyError (): void {}
  t.same(normalizeKey(LegacyError), { kind: 'class', prototype: LegacyError.prototype, name: 'LegacyError' }, 'an ES5 constructor function')
})

t.test('normalizeKey: refused keys, with a message that says the fix', async (t) => {
  const range = 'only HTTP error statuses 400–599 have handlers'
  for (const status of [200, 302, 399, 600, 1000, -404, 404.5, NaN, Infinity]) {
    t.equal(refusal(t, () => normalizeKey(status), FFE_INVALID_KEY, `status ${status}`), `${KEY}status ${status}: ${range}`)
  }
  for (const status of [419, 499, 509, 599]) {
    t.equal(refusal(t, () => normalizeKey(status), FFE_INVALID_KEY, `status ${status}`),
      `${KEY}status ${status}: it has no class; declare one (class MyError extends HTTPException { static code = ${status} }) and register that class`)
  }
  t.equal(refusal(t, () => normalizeKey(''), FFE_INVALID_KEY, 'empty string'),
    `${KEY}an empty string: an error code key is a non-empty string such as 'FST_ERR_VALIDATION'`)
  t.equal(refusal(t, () => normalizeKey(new NotFound()), FFE_INVALID_KEY, 'an instance'),
    `${KEY}an instance of NotFound: register the class itself, e.g. errorhandler(NotFound)`)
  t.equal(refusal(t, () => normalizeKey(new InvalidAPIUsage()), FFE_INVALID_KEY, 'an instance of a user class'),
    `${KEY}an instance of InvalidAPIUsage: register the class itself, e.g. errorhandler(InvalidAPIUsage)`)
  t.equal(refusal(t, () => normalizeKey({}), FFE_INVALID_KEY, 'an object literal'),
    `${KEY}an instance of Object: register the class itself, e.g. errorhandler(Object)`)
  for (const [value, label] of [[Object.create(null), 'a null-prototype object'], [{ constructor: { name: 5 } }, 'a constructor without a string name']] as const) {
    t.equal(refusal(t, () => normalizeKey(value), FFE_INVALID_KEY, label),
      `${KEY}an instance: register the class itself, e.g. errorhandler(MyError)`)
  }
  const fix = 'use an HTTP error status (400–599), an error class or an error code string'
  const others: Array<[unknown, string]> = [[undefined, 'undefined (undefined)'], [null, 'null (object)'], [true, 'true (boolean)'], [404n, '404 (bigint)'], [Symbol('x'), 'Symbol(x) (symbol)']]
  for (const [value, shown] of others) {
    t.equal(refusal(t, () => normalizeKey(value), FFE_INVALID_KEY, shown), `${KEY}${shown}: ${fix}`)
  }
  const arrow = (): void => undefined
  t.equal(refusal(t, () => normalizeKey(arrow), FFE_INVALID_KEY, 'an arrow function'),
    `${KEY}arrow without a prototype: pass an error class (class MyError extends Error {}), not an arrow function`)
  t.equal(refusal(t, () => normalizeKey([() => undefined][0]), FFE_INVALID_KEY, 'an anonymous arrow function'),
    `${KEY}an anonymous function without a prototype: pass an error class (class MyError extends Error {}), not an arrow function`)
  // A bound function has no prototype of its own; reading it would give its base's (Error.prototype).
  t.match(refusal(t, () => normalizeKey(InvalidAPIUsage.bind(null)), FFE_INVALID_KEY, 'a bound class'), /^cannot register an error handler for bound InvalidAPIUsage without a prototype/)
  t.match(refusal(t, () => normalizeKey(NotFound.bind(null)), FFE_INVALID_KEY, 'a bound status class'), /^cannot register an error handler for bound NotFound without a prototype/)
})

t.test('normalizeKey: classes no thrown value is ever looked up by are refused, saying what to register instead', async (t) => {
  t.equal(refusal(t, () => normalizeKey(Object), FFE_INVALID_KEY, 'Object'),
    `${KEY}Object: no thrown value is looked up by Object (the lookup walks the classes below it), so this handler would never run; ` +
    'to handle everything, register Error (every error object) and 500 (thrown primitives and plain objects become a 500 whose originalError is the value)')
  const primitives: Array<[Function, string]> = [[String, 'a thrown string'], [Number, 'a thrown number'], [Boolean, 'a thrown boolean'], [Symbol, 'a thrown symbol'], [BigInt, 'a thrown bigint']]
  for (const [cls, what] of primitives) {
    t.equal(refusal(t, () => normalizeKey(cls), FFE_INVALID_KEY, cls.name),
      `${KEY}${cls.name}: ${what} is a primitive, not an instance of ${cls.name}, so this handler would never run; ` +
      'thrown primitives become a 500 whose originalError is the value: register 500 (or Error) and read error.originalError')
  }
  // What the message promises: the thrown primitive reaches a 500 handler and an Error handler as originalError.
  for (const key of [500, Error] as const) {
    const { app } = await build()
    t.teardown(() => app.close())
    app.register_error_handler(key, (error: unknown) => ({ kind: (error as object).constructor.name, original: (error as InternalServerError).originalError }))
    app.get('/string', () => { throw 'a thrown string' }) // eslint-disable-line no-throw-literal
    app.get('/object', () => { throw { reason: 'plain' } }) // eslint-disable-line no-throw-literal
    const string = await app.inject({ url: '/string', headers: API })
    t.same([string.statusCode, string.json()], [500, { kind: 'InternalServerError', original: 'a thrown string' }], `${key === Error ? 'Error' : key} handler: a thrown string`)
    const object = await app.inject({ url: '/object', headers: API })
    t.same([object.statusCode, object.json()], [500, { kind: 'InternalServerError', original: { reason: 'plain' } }], 'a thrown plain object')
  }
  class MyString extends String {}
  t.same(normalizeKey(MyString), { kind: 'class', prototype: MyString.prototype, name: 'MyString' }, 'a subclass is a class like any other')
  t.same(normalizeKey(Array), { kind: 'class', prototype: Array.prototype, name: 'Array' }, 'a thrown array has Array in its chain: accepted')
})

t.test('normalizeKey: a status or a status range written as a string is refused; other codes, numeric ones too, are codes', async (t) => {
  for (const status of [400, 404, 500, 599]) {
    t.equal(refusal(t, () => normalizeKey(String(status)), FFE_INVALID_KEY, `'${status}'`),
      `${KEY}'${status}' (a string): a status key is a number; use the number ${status}: errorhandler(${status})`)
  }
  for (const text of ['200', '302', '399', '600', '000']) {
    t.equal(refusal(t, () => normalizeKey(text), FFE_INVALID_KEY, `'${text}'`),
      `${KEY}'${text}' (a string): a status key is a number, and only HTTP error statuses 400–599 have handlers`)
  }
  for (const range of ['4xx', '5xx', '4XX']) {
    t.equal(refusal(t, () => normalizeKey(range), FFE_INVALID_KEY, range),
      `${KEY}'${range}': there are no status range keys; register HTTPException (every HTTP error) or each status`)
  }
  for (const code of ['23505', '42P01', '40', '1', 'E404', '404 ', '6xx', 'ECONNREFUSED']) {
    t.same(normalizeKey(code), { kind: 'code', code }, `'${code}' is a code (PostgreSQL's SQLSTATE codes are five characters)`)
  }
})

t.test('errorhandler takes the key alone: a handler beside it is refused, and nothing is registered', async (t) => {
  const { app } = await build()
  t.teardown(() => app.close())
  const handler = (): string => 'never'
  const cases: Array<[unknown, string]> = [[404, '404'], [NotFound, 'NotFound'], ['ECONNREFUSED', "'ECONNREFUSED'"], [() => undefined, 'key']]
  for (const [key, shown] of cases) {
    const call = app.errorhandler as unknown as (key: unknown, handler: unknown) => unknown
    t.equal(refusal(t, () => call.call(app, key, handler), FFE_DECORATOR_TAKES_KEY_ONLY, `errorhandler(${shown}, fn)`),
      `errorhandler takes only the key and returns the decorator: app.errorhandler(${shown})(fn), or app.register_error_handler(${shown}, fn)`)
  }
  const call = app.errorhandler as unknown as (key: unknown, handler: unknown) => unknown
  t.throws(() => call.call(app, 404, undefined), FFE_DECORATOR_TAKES_KEY_ONLY, 'any second argument: Flask\'s decorator takes one')
  app.get('/missing', (request, reply) => reply.abort(404))
  const res = await app.inject({ url: '/missing', headers: API })
  t.equal(res.statusCode, 404)
  t.equal(res.json().error, 'Not Found', 'the default 404: the handler was not registered')
  app.errorhandler(404)(handler)
  t.equal((await app.inject({ url: '/missing', headers: API })).body, 'never', 'the decorator form works')
})

t.test('addHandler', async (t) => {
  t.test('refuses a handler that is not a function', async (t) => {
    const scope = new Scope(context())
    const key = normalizeKey(404)
    for (const [handler, shown] of [[null, 'null'], [undefined, 'undefined'], ['404.html', 'string'], [{ handle () {} }, 'object'], [42, 'number']] as const) {
      t.equal(refusal(t, () => addHandler(scope, key, handler), FFE_INVALID_HANDLER, shown),
        `an error handler must be a function (error, request, reply) => …, got ${shown}`)
    }
    t.equal(scope.statuses.size, 0, 'nothing was stored')
  })

  t.test('stores each kind of key in its table, with the instance and a label', async (t) => {
    const instance = context()
    const scope = new Scope(instance)
    const handler = (): string => 'h'
    const entries: Array<[HandlerEntry, string]> = [
      [addHandler(scope, normalizeKey(404), handler), '404'],
      [addHandler(scope, normalizeKey(BadRequest), handler), '400'],
      [addHandler(scope, normalizeKey('FST_ERR_VALIDATION'), handler), "'FST_ERR_VALIDATION'"],
      [addHandler(scope, normalizeKey(InvalidAPIUsage), handler), 'InvalidAPIUsage'],
      [addHandler(scope, normalizeKey([class extends Error {}][0]), handler), '<anonymous class>'],
      [addHandler(scope, normalizeKey(HTTPException), handler), 'HTTPException'],
      [addHandler(scope, normalizeKey(Error), handler), 'Error']
    ]
    for (const [entry, label] of entries) {
      t.equal(entry.label, label)
      t.equal(entry.handler, handler)
      t.equal(entry.instance, instance)
    }
    t.equal(scope.statuses.get(404), entries[0][0])
    t.equal(scope.statuses.get(400), entries[1][0])
    t.equal(scope.codes.get('FST_ERR_VALIDATION'), entries[2][0])
    t.equal(scope.classes.get(InvalidAPIUsage.prototype), entries[3][0])
    t.equal(scope.classes.size, 2)
    t.equal(scope.generic.HTTPException, entries[5][0])
    t.equal(scope.generic.Error, entries[6][0])
  })

  t.test('a later registration of the same key wins, as in Flask; 404 and NotFound are one key', async (t) => {
    const scope = new Scope(context())
    addHandler(scope, normalizeKey(404), () => 'first')
    const second = addHandler(scope, normalizeKey(NotFound), () => 'second')
    t.equal(scope.statuses.size, 1)
    t.equal(scope.statuses.get(404), second)
  })
})

/** Scopes for a chain, innermost first, each with handlers added by `setup`. */
function scopes (count: number): Scope[] {
  let parent: FastifyInstance | undefined
  const made: Scope[] = []
  for (let i = 0; i < count; i++) {
    parent = context(parent)
    made.unshift(new Scope(parent))
  }
  return made
}

function add (scope: Scope, key: unknown, label: string): HandlerEntry {
  return addHandler(scope, normalizeKey(key), () => label)
}

t.test('findHandler: the four phases', async (t) => {
  t.test('phase 1, specific classes: anywhere in the chain, before codes and statuses', async (t) => {
    const [inner, outer] = scopes(2)
    add(inner, 404, 'inner status')
    add(inner, 'E_USER', 'inner code')
    const cls = add(outer, UserNotFound, 'outer class')
    const facts = { ...readThrown(new UserNotFound()), code: 'E_USER' }
    t.equal(findHandler([inner, outer], facts), cls)
    t.equal(findHandler([inner], facts)?.label, "'E_USER'", 'without it, the code')
  })

  t.test('phase 1 walks the class chain most specific first, inner scope first', async (t) => {
    const [inner, outer] = scopes(2)
    const parentOuter = add(outer, ConnectionError, 'outer parent')
    const childOuter = add(outer, ConnectionRefusedError, 'outer child')
    t.equal(findHandler([inner, outer], readThrown(new ConnectionRefusedError())), childOuter, 'ConnectionRefusedError beats ConnectionError')
    t.equal(findHandler([inner, outer], readThrown(new ConnectionError())), parentOuter)
    const parentInner = add(inner, ConnectionError, 'inner parent')
    t.equal(findHandler([inner, outer], readThrown(new ConnectionRefusedError())), parentInner,
      'within a phase the inner scope wins, as Flask walks the blueprint before the app')
  })

  t.test('status classes and generic bases are not specific classes', async (t) => {
    const [scope] = scopes(1)
    const status = add(scope, NotFound, 'status')
    t.equal(findHandler([scope], readThrown(new UserNotFound())), status, 'a UserNotFound reaches the 404 handler in phase 3')
    t.equal(scope.classes.size, 0)
  })

  t.test('phase 2, the string code: before the status, inner first', async (t) => {
    const [inner, outer] = scopes(2)
    add(inner, 400, 'status')
    const outerCode = add(outer, 'FST_ERR_VALIDATION', 'outer code')
    const validation = Object.assign(new Error('body/x'), { statusCode: 400, code: 'FST_ERR_VALIDATION' })
    t.equal(findHandler([inner, outer], readThrown(validation)), outerCode)
    const innerCode = add(inner, 'FST_ERR_VALIDATION', 'inner code')
    t.equal(findHandler([inner, outer], readThrown(validation)), innerCode)
    t.equal(findHandler([inner, outer], readThrown(Object.assign(new Error('x'), { statusCode: 400, code: 'OTHER' })))?.label, '400')
  })

  t.test('phase 2 also matches the cause\'s code: after the error\'s own code in every scope, before the status', async (t) => {
    const [inner, outer] = scopes(2)
    const status = add(inner, 500, 'inner 500')
    const proxy = Object.assign(new Error('connect ECONNREFUSED'), {
      statusCode: 500, code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
    })
    t.equal(findHandler([inner, outer], readThrown(proxy)), status, 'no code handler: the status')
    const causeOuter = add(outer, 'ECONNREFUSED', 'outer cause code')
    t.equal(findHandler([inner, outer], readThrown(proxy)), causeOuter, 'the cause\'s code beats the status, from any scope')
    const ownOuter = add(outer, 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', 'outer own code')
    add(inner, 'ECONNREFUSED', 'inner cause code')
    t.equal(findHandler([inner, outer], readThrown(proxy)), ownOuter, 'the error\'s own code, even in an outer scope, beats its cause\'s in an inner one')
    const tried = new Set([ownOuter])
    t.equal(findHandler([inner, outer], readThrown(proxy), tried)?.label, "'ECONNREFUSED'", 'its own code tried: the cause\'s, inner first')
    t.equal(findHandler([inner, outer], readThrown(new InternalServerError(undefined, { originalError: proxy, cause: proxy }))), status,
      'a 500 made of a handler failure reaches the 500 handler, not the code handler of the error it was handling')
  })

  t.test('phase 3, the status: inner first; a root 404 beats a child HTTPException handler', async (t) => {
    const [inner, outer] = scopes(2)
    const childGeneric = add(inner, HTTPException, 'child HTTPException')
    const rootStatus = add(outer, 404, 'root 404')
    t.equal(findHandler([inner, outer], readThrown(new NotFound())), rootStatus)
    const childStatus = add(inner, 404, 'child 404')
    t.equal(findHandler([inner, outer], readThrown(new NotFound())), childStatus)
    t.equal(findHandler([inner, outer], readThrown(Object.assign(new Error('x'), { status: 404 }))), childStatus, 'a foreign error with that status')
    t.equal(findHandler([inner, outer], readThrown(new BadRequest())), childGeneric)
  })

  t.test('phase 4, the generic bases: HTTPException for HTTP errors, Error for every error', async (t) => {
    const [inner, outer] = scopes(2)
    const outerHttp = add(outer, HTTPException, 'outer HTTPException')
    const outerError = add(outer, Error, 'outer Error')
    t.equal(findHandler([inner, outer], readThrown(new NotFound())), outerHttp)
    t.equal(findHandler([inner, outer], readThrown(new Error('raw'))), outerError, 'a raw error, before it becomes a 500')
    t.equal(findHandler([inner, outer], readThrown(Object.assign(new Error('x'), { statusCode: 404 }))), outerError,
      'a foreign error with a status is no HTTPException')
    const innerError = add(inner, Error, 'inner Error')
    t.equal(findHandler([inner, outer], readThrown(new NotFound())), innerError,
      "an inner Error handler beats an outer HTTPException handler (Flask's scope-first walk)")
  })

  t.test('values that are not errors reach no generic handler', async (t) => {
    const [scope] = scopes(1)
    add(scope, HTTPException, 'http')
    add(scope, Error, 'error')
    const values: Array<[unknown, string]> = [['a string', 'a string'], [null, 'null'], [undefined, 'undefined'], [42, '42'],
      [{ statusCode: 404 }, 'a plain object with a status'], [Object.create(null), 'a null-prototype object']]
    for (const [value, label] of values) t.equal(findHandler([scope], readThrown(value)), undefined, label)
    t.equal(findHandler([scope], readThrown(new InternalServerError(undefined, { originalError: 'x' })))?.label, 'HTTPException',
      'their 500 does')
  })

  t.test('nothing registered, or an empty chain: nothing found', async (t) => {
    t.equal(findHandler([], readThrown(new NotFound())), undefined)
    t.equal(findHandler(scopes(3), readThrown(new NotFound())), undefined)
  })

  t.test('handlers already tried are passed over, in every phase', async (t) => {
    const [inner, outer] = scopes(2)
    const cls = add(inner, UserNotFound, 'class')
    const outerCls = add(outer, UserNotFound, 'outer class')
    const code = add(inner, 'E_USER', 'code')
    const status = add(inner, 404, 'status')
    const http = add(outer, HTTPException, 'http')
    const error = add(outer, Error, 'error')
    // A foreign error with a prototype chain, a string code and a status reaches every phase.
    const facts = { ...readThrown(Object.assign(new UserNotFound(), { code: 'E_USER' })), code: 'E_USER' }
    const tried = new Set<HandlerEntry>()
    const order: string[] = []
    // Bounded: if `tried` were ignored this would find the same handler forever.
    for (let entry = findHandler([inner, outer], facts, tried); entry !== undefined && order.length < 10; entry = findHandler([inner, outer], facts, tried)) {
      order.push(entry.label)
      tried.add(entry)
    }
    t.same(order, ['UserNotFound', 'UserNotFound', "'E_USER'", '404', 'HTTPException', 'Error'])
    t.same([...tried], [cls, outerCls, code, status, http, error])
  })
})

t.test('Registry', async (t) => {
  t.test('one scope per instance, made on first use', async (t) => {
    const registry = new Registry({ format: 'negotiate' })
    const a = context()
    const b = context(a)
    const scope = registry.scope(a)
    t.equal(registry.scope(a), scope)
    t.equal(scope.instance, a)
    t.not(registry.scope(b), scope)
  })

  t.test('resolve: the scope chain follows the prototype chain, innermost first, skipping contexts without a scope', async (t) => {
    const registry = new Registry({})
    const root = context()
    const middle = context(root)
    const leaf = context(middle)
    const sibling = context(root)
    const rootScope = registry.scope(root)
    const leafScope = registry.scope(leaf)
    registry.scope(sibling)
    t.same(registry.resolve(leaf).chain, [leafScope, rootScope])
    t.same(registry.resolve(middle).chain, [rootScope])
    t.same(registry.resolve(context(leaf)).chain, [leafScope, rootScope], 'a deeper context without a scope of its own')
    t.same(registry.resolve(context()).chain, [], 'an unrelated context')
  })

  t.test('resolve: options merge defaults < outer < inner, undefined never overrides', async (t) => {
    interface Options { format: string, logLevel: string, notFoundLogLevel: string | undefined, debug: boolean }
    const defaults: Options = { format: 'negotiate', logLevel: 'info', notFoundLogLevel: undefined, debug: false }
    const registry = new Registry<Options>(defaults)
    const root = context()
    const child = context(root)
    const grandchild = context(child)
    registry.configure(root, { format: 'html', logLevel: 'warn' })
    registry.configure(child, { format: 'json', logLevel: undefined })
    registry.configure(grandchild, { notFoundLogLevel: 'debug' })
    t.same(registry.resolve(root).options, { format: 'html', logLevel: 'warn', notFoundLogLevel: undefined, debug: false })
    t.same(registry.resolve(child).options, { format: 'json', logLevel: 'warn', notFoundLogLevel: undefined, debug: false })
    t.same(registry.resolve(grandchild).options, { format: 'json', logLevel: 'warn', notFoundLogLevel: 'debug', debug: false })
    registry.configure(child, { debug: true })
    t.same(registry.resolve(grandchild).options, { format: 'json', logLevel: 'warn', notFoundLogLevel: 'debug', debug: true },
      'a later configure merges over the earlier one')
    t.same(defaults, { format: 'negotiate', logLevel: 'info', notFoundLogLevel: undefined, debug: false }, 'the defaults are never written')
    t.same(registry.resolve(context()).options, defaults)
    t.not(registry.resolve(context()).options, defaults)
  })

  t.test('resolve is cached until a scope is made or options change', async (t) => {
    const registry = new Registry({ format: 'negotiate' })
    const root = context()
    const child = context(root)
    const childScope = registry.scope(child)
    const first = registry.resolve(child)
    t.same(first.chain, [childScope])
    t.equal(registry.resolve(child), first, 'the same object while nothing changed')
    registry.scope(child)
    t.equal(registry.resolve(child), first, 'asking for an existing scope changes nothing')

    const rootScope = registry.scope(root)
    const second = registry.resolve(child)
    t.not(second, first, 'a new scope (here: an outer one) invalidates the cache')
    t.same(second.chain, [childScope, rootScope])
    t.equal(registry.resolve(child), second)

    registry.scope(context())
    t.not(registry.resolve(child), second, 'any new scope invalidates: the cache does not guess which chains it touches')

    const third = registry.resolve(child)
    registry.configure(root, { format: 'json' })
    const fourth = registry.resolve(child)
    t.not(fourth, third, 'configure invalidates')
    t.same(fourth.options, { format: 'json' })
    t.same(third.options, { format: 'negotiate' }, 'an earlier answer is not mutated')
  })

  t.test('with real Fastify contexts: a prefixed child sees its handlers, then its parents\'', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    const registry = new Registry({})
    let blog: FastifyInstance | undefined
    let admin: FastifyInstance | undefined
    let sibling: FastifyInstance | undefined
    app.register(async (instance) => {
      blog = instance
      instance.register(async (inner) => { admin = inner }, { prefix: '/admin' })
    }, { prefix: '/blog' })
    app.register(async (instance) => { sibling = instance }, { prefix: '/shop' })
    await app.ready()
    if (blog === undefined || admin === undefined || sibling === undefined) throw new Error('contexts not made')
    const rootScope = registry.scope(app)
    const blogScope = registry.scope(blog)
    const siblingScope = registry.scope(sibling)
    t.same(registry.resolve(admin).chain, [blogScope, rootScope])
    t.same(registry.resolve(blog).chain, [blogScope, rootScope])
    t.same(registry.resolve(sibling).chain, [siblingScope, rootScope])
    t.same(registry.resolve(app).chain, [rootScope])
  })
})
