/**
 * lib/thrown.ts as a unit: reading status, code, class chain and public message from anything that
 * can be thrown, without ever throwing; foreign headers; plain objects; HTTP statuses.
 */
import t from 'tap'
import createHttpError from 'http-errors'
import { HTTPException, NotFound, InternalServerError, ServiceUnavailable } from '../lib/exceptions.js'
import { readThrown, httpStatus, errorHeaders, isPlainObject } from '../lib/thrown.js'
import type { ThrownFacts } from '../lib/thrown.js'

const NOTHING: ThrownFacts = { status: undefined, code: undefined, causeCode: undefined, prototypes: [], publicMessage: undefined }

/** An Error with extra own fields, as libraries throw them. */
function foreign (fields: Record<string, unknown>, message = 'foreign message'): Error {
  return Object.assign(new Error(message), fields)
}

function revoked (): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

t.test('primitives, null and Symbols carry nothing', async (t) => {
  for (const value of [undefined, null, 0, 404, 'Not Found', '', true, 10n, Symbol('boom'), NaN]) {
    t.same(readThrown(value), NOTHING, typeof value === 'symbol' ? 'symbol' : String(value))
  }
})

t.test('HTTP exceptions', async (t) => {
  t.test('status is the code, the chain is the class chain, 4xx messages are public', async (t) => {
    class UserNotFound extends NotFound {}
    const facts = readThrown(new UserNotFound('no user 7'))
    t.equal(facts.status, 404)
    t.equal(facts.code, undefined, 'the numeric code is the status, not a string error code')
    t.same(facts.prototypes, [UserNotFound.prototype, NotFound.prototype, HTTPException.prototype, Error.prototype])
    t.equal(facts.publicMessage, 'no user 7')
    t.equal(readThrown(new NotFound()).publicMessage, NotFound.description)
  })

  t.test('5xx: the class default is hidden, a description the app wrote is shown', async (t) => {
    t.equal(readThrown(new InternalServerError(undefined, { originalError: new Error('secret') })).publicMessage, undefined)
    t.equal(readThrown(new ServiceUnavailable()).publicMessage, undefined)
    t.equal(readThrown(new ServiceUnavailable('Back at 5pm')).publicMessage, 'Back at 5pm')
  })

  t.test('a user status the registry does not know', async (t) => {
    class SiteFrozen extends HTTPException { static override code = 599 }
    const facts = readThrown(new SiteFrozen('frozen'))
    t.equal(facts.status, 599)
    t.equal(facts.publicMessage, 'frozen')
  })

  t.test('a code overwritten from JavaScript never makes a string or 2xx status', async (t) => {
    const named = Object.assign(new NotFound('x'), { code: 'E_USER' })
    t.equal(readThrown(named).status, 404, 'a string code: the statusCode still says 404')
    t.equal(readThrown(Object.assign(new NotFound('x'), { code: 200 })).status, 404, 'a 2xx code')
    t.equal(readThrown(Object.assign(new NotFound('x'), { code: 200, statusCode: 200 })).status, undefined, 'neither is an error status')
    t.equal(readThrown(Object.assign(new NotFound('x'), { code: 410 })).status, 410, 'code is read first, as Werkzeug does')
  })

  t.test('a non-string description (from JavaScript) is never the message', async (t) => {
    for (const description of [5, { detail: 'x' }, ['a'], false]) {
      const facts = readThrown(new NotFound(description as unknown as string))
      t.equal(facts.status, 404)
      t.equal(facts.publicMessage, undefined, JSON.stringify(description))
    }
    t.equal(readThrown(new NotFound(null as unknown as string)).publicMessage, NotFound.description, 'null means the class default')
    const emptied = new NotFound('x')
    ;(emptied as { description: unknown }).description = undefined
    t.equal(readThrown(emptied).publicMessage, undefined)
  })
})

t.test('foreign errors: statusCode, status, both, and values that are not statuses', async (t) => {
  const cases: Array<[Record<string, unknown>, number | undefined, string]> = [
    [{ statusCode: 404 }, 404, 'statusCode'],
    [{ status: 409 }, 409, 'status'],
    [{ statusCode: 400, status: 500 }, 400, 'statusCode wins over status'],
    [{ statusCode: 200, status: 404 }, 404, 'a statusCode that is not an error status falls back to status'],
    [{ statusCode: 'x', status: 429 }, 429, 'a string statusCode falls back to status'],
    [{ statusCode: 200 }, undefined, '2xx is no error status'],
    [{ statusCode: 302, status: 301 }, undefined, 'neither is an error status'],
    [{ statusCode: 399 }, undefined, 'below 400'],
    [{ statusCode: 400 }, 400, 'lower bound'],
    [{ statusCode: 599 }, 599, 'upper bound'],
    [{ statusCode: 600 }, undefined, 'above 599'],
    [{ statusCode: '404' }, undefined, 'a string is no status'],
    [{ statusCode: NaN }, undefined, 'NaN'],
    [{ statusCode: 404.5 }, undefined, 'not an integer'],
    [{ statusCode: Infinity }, undefined, 'Infinity'],
    // eslint-disable-next-line no-new-wrappers -- a boxed number is the case under test
    [{ status: new Number(404) }, undefined, 'a boxed number'],
    [{}, undefined, 'no status at all']
  ]
  for (const [fields, status, label] of cases) {
    t.equal(readThrown(foreign(fields)).status, status, label)
  }
})

t.test('string error codes', async (t) => {
  t.equal(readThrown(foreign({ code: 'ECONNREFUSED' })).code, 'ECONNREFUSED')
  t.equal(readThrown(foreign({ code: 'FST_ERR_VALIDATION', statusCode: 400 })).code, 'FST_ERR_VALIDATION')
  t.equal(readThrown(foreign({ code: '' })).code, undefined, 'an empty code is no code')
  t.equal(readThrown(foreign({ code: 404 })).code, undefined, 'a number is no string code')
  t.equal(readThrown(foreign({ code: null })).code, undefined)
  t.equal(readThrown({ code: 'EPLAIN' }).code, 'EPLAIN', 'plain objects carry codes too')
})

t.test('the code of the cause, one level down: what proxies and HTTP clients wrap', async (t) => {
  const refused = foreign({ code: 'ECONNREFUSED', errno: -111 }, 'connect ECONNREFUSED 127.0.0.1:9')
  const wrapped = readThrown(foreign({ code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', statusCode: 500, cause: refused }))
  t.equal(wrapped.code, 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR', 'its own code stays its code')
  t.equal(wrapped.causeCode, 'ECONNREFUSED')
  t.equal(wrapped.status, 500)
  t.equal(readThrown(new TypeError('fetch failed', { cause: refused })).causeCode, 'ECONNREFUSED', "Node's fetch: no code of its own")
  t.equal(readThrown({ cause: { code: 'EPLAIN' } }).causeCode, 'EPLAIN', 'a plain object and a plain cause')
  t.equal(readThrown(foreign({ cause: foreign({ cause: refused }) })).causeCode, undefined, 'one level only: the cause of the cause is not read')
  for (const [cause, label] of [[{ code: '' }, 'an empty code'], [{ code: -111 }, 'a numeric code'], ['ECONNREFUSED', 'a string cause'], [null, 'null'], [undefined, 'no cause']] as const) {
    t.equal(readThrown(foreign({ cause })).causeCode, undefined, label)
  }
  t.equal(readThrown(new InternalServerError(undefined, { originalError: 'x', cause: refused })).causeCode, undefined,
    'never from an HTTPException: a handler failure is a 500 whose cause is the error being handled')
  t.equal(readThrown(new NotFound('x', { cause: refused })).causeCode, undefined)
})

t.test('a cause that cannot be read names no code, and the error keeps its own facts', async (t) => {
  const getter = Object.defineProperty(foreign({ statusCode: 502, code: 'E_PROXY' }), 'cause', { get () { throw new Error('getter') } })
  t.same(readThrown(getter), { status: 502, code: 'E_PROXY', causeCode: undefined, prototypes: [Error.prototype], publicMessage: undefined }, 'a throwing cause getter')
  const trapping = new Proxy({}, { get () { throw new Error('trap') } })
  const facts = readThrown(foreign({ statusCode: 503, cause: trapping }))
  t.equal(facts.status, 503, 'a cause whose code read throws')
  t.equal(facts.causeCode, undefined)
  t.equal(readThrown(foreign({ statusCode: 503, cause: revoked() })).status, 503, 'a revoked Proxy as cause')
  const codeGetter = { get code () { throw new Error('getter') } }
  t.equal(readThrown(foreign({ code: 'E_OWN', cause: codeGetter })).code, 'E_OWN', "a cause's throwing code getter")
})

t.test('public messages of foreign errors follow expose (http-errors), else 4xx shown and 5xx hidden', async (t) => {
  t.equal(readThrown(foreign({ statusCode: 400 }, 'email is required')).publicMessage, 'email is required')
  t.equal(readThrown(foreign({ statusCode: 400, expose: false }, 'internal detail')).publicMessage, undefined)
  t.equal(readThrown(foreign({ statusCode: 502 }, 'upstream 10.0.0.7 refused')).publicMessage, undefined)
  t.equal(readThrown(foreign({ statusCode: 503, expose: true }, 'Back soon')).publicMessage, 'Back soon')
  t.equal(readThrown(foreign({ statusCode: 400, expose: 'yes' }, 'shown by status')).publicMessage, 'shown by status',
    'a non-boolean expose is ignored')
  t.equal(readThrown(foreign({ statusCode: 500, expose: 1 }, 'hidden by status')).publicMessage, undefined)
  t.equal(readThrown(foreign({ expose: true }, 'no status')).publicMessage, undefined, 'no status, no public message')
  t.equal(readThrown({ statusCode: 404, message: 42 }).publicMessage, undefined, 'a non-string message')
  t.equal(readThrown({ statusCode: 404 }).publicMessage, undefined)

  const httpError = createHttpError(404, 'no such page')
  const facts = readThrown(httpError)
  t.equal(facts.status, 404)
  t.equal(facts.publicMessage, 'no such page')
  t.equal(readThrown(createHttpError(500, 'db password')).publicMessage, undefined)
})

t.test('values whose reads throw carry nothing, and readThrown does not throw', async (t) => {
  const getterStatus = Object.defineProperty(new Error('x'), 'statusCode', { get () { throw new Error('getter') } })
  t.same(readThrown(getterStatus), NOTHING, 'a throwing statusCode getter')
  const getterCode = Object.defineProperty(foreign({ statusCode: 404 }), 'code', { get () { throw new Error('getter') } })
  t.same(readThrown(getterCode), NOTHING, 'a throwing code getter')
  const getterMessage = Object.defineProperty(foreign({ statusCode: 404 }), 'message', { get () { throw new Error('getter') } })
  t.same(readThrown(getterMessage), NOTHING, 'a throwing message getter')
  t.same(readThrown(revoked()), NOTHING, 'a revoked Proxy')
  const trapping = new Proxy(new Error('x'), { get () { throw new Error('trap') } })
  t.same(readThrown(trapping), NOTHING, 'a Proxy whose get trap throws')
  const protoTrap = new Proxy({}, { getPrototypeOf () { throw new Error('trap') } })
  t.same(readThrown(protoTrap), NOTHING, 'a Proxy whose getPrototypeOf trap throws')
})

t.test('objects without the usual prototype', async (t) => {
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { statusCode: 404, message: 'bare', code: 'EBARE' })
  t.same(readThrown(bare), { status: 404, code: 'EBARE', causeCode: undefined, prototypes: [], publicMessage: 'bare' })
  t.same(readThrown({ statusCode: 418, message: 'teapot' }), { status: 418, code: undefined, causeCode: undefined, prototypes: [], publicMessage: 'teapot' },
    'Object.prototype is not part of the chain')
})

t.test('functions can be thrown and read', async (t) => {
  const fn = Object.assign(() => undefined, { statusCode: 410 })
  const facts = readThrown(fn)
  t.equal(facts.status, 410)
  t.same(facts.prototypes, [Function.prototype])
  t.same(readThrown(class Thrown {}).prototypes, [Function.prototype])
})

t.test('prototype chains are read most specific first, and bounded', async (t) => {
  class A extends Error {}
  class B extends A {}
  class C extends B {}
  t.same(readThrown(new C()).prototypes, [C.prototype, B.prototype, A.prototype, Error.prototype])

  let deep: object = {}
  for (let i = 0; i < 100; i++) deep = Object.create(deep) as object
  const deepFacts = readThrown(deep)
  t.equal(deepFacts.prototypes.length, 32, 'a 100-deep chain stops at 32')
  t.equal(deepFacts.prototypes[0], Object.getPrototypeOf(deep))

  // A Proxy may claim to be its own prototype: the chain walk must end anyway (without the bound it
  // never returns). V8's own `instanceof` then gives up with a RangeError, so the value carries nothing.
  const cyclic: object = new Proxy({}, { getPrototypeOf: () => cyclic })
  t.same(readThrown(cyclic), NOTHING)
  const cyclicWithStatus: object = new Proxy({ statusCode: 404 }, { getPrototypeOf: () => Object.create(cyclicWithStatus) as object })
  t.same(readThrown(cyclicWithStatus), NOTHING)
})

t.test('httpStatus', async (t) => {
  for (const value of [400, 404, 451, 500, 599]) t.equal(httpStatus(value), value, String(value))
  for (const value of [399, 600, 200, 0, -404, 404.5, NaN, Infinity, '404', null, undefined, [404], { valueOf: () => 404 }]) {
    t.equal(httpStatus(value), undefined, JSON.stringify(value) ?? String(value))
  }
})

t.test('errorHeaders', async (t) => {
  const headers = { Allow: 'GET', 'Retry-After': 5 }
  t.equal(errorHeaders(foreign({ headers })), headers, 'a plain object is returned as is (validated where applied)')
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { Allow: 'GET' })
  t.equal(errorHeaders({ headers: bare }), bare)
  t.equal(createHttpError(405, { headers: { Allow: 'GET' } }).headers?.Allow, 'GET')
  t.same(errorHeaders(createHttpError(405, { headers: { Allow: 'GET' } })), { Allow: 'GET' })
  const notPlain: Array<[unknown, string]> = [
    [new Map([['Allow', 'GET']]), 'a Map'], [[['Allow', 'GET']], 'an array'], [new (class Headers {})(), 'a class instance'],
    ['Allow: GET', 'a string'], [5, 'a number'], [null, 'null'], [undefined, 'undefined'], [revoked(), 'a revoked Proxy']
  ]
  for (const [value, label] of notPlain) t.equal(errorHeaders({ headers: value }), undefined, `headers: ${label}`)
  t.equal(errorHeaders(foreign({})), undefined, 'no headers')
  t.equal(errorHeaders(Object.defineProperty({}, 'headers', { get () { throw new Error('getter') } })), undefined, 'a throwing getter')
  t.equal(errorHeaders(revoked()), undefined, 'a revoked Proxy')
  for (const value of [null, undefined, 'string', 404]) t.equal(errorHeaders(value), undefined, String(value))
})

t.test('isPlainObject', async (t) => {
  t.ok(isPlainObject({}))
  t.ok(isPlainObject({ a: 1 }))
  t.ok(isPlainObject(Object.create(null)))
  t.ok(isPlainObject(JSON.parse('{"a":1}')))
  for (const value of [[], new Date(), new Error('x'), new (class Thing {})(), Object.create({}), () => undefined, null, undefined, 'x', 1, new Map()]) {
    t.notOk(isPlainObject(value), Object.prototype.toString.call(value))
  }
  t.notOk(isPlainObject(revoked()), 'a revoked Proxy is not plain, and does not throw')
  t.notOk(isPlainObject(new Proxy({}, { getPrototypeOf () { throw new Error('trap') } })), 'a throwing getPrototypeOf trap')
})
