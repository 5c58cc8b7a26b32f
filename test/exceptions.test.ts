/**
 * lib/exceptions.ts as a unit: every status class, constructor options, the header-carrying classes,
 * user subclasses, exceptions made without a stack, `abort`, `isStatusClass` and `statusClasses`.
 */
import t from 'tap'
import { STATUS_CODES } from 'node:http'
import * as exceptions from '../lib/exceptions.js'
import {
  HTTPException, NotFound, MethodNotAllowed, Unauthorized, TooManyRequests, ServiceUnavailable,
  RequestedRangeNotSatisfiable, RangeNotSatisfiable, RequestEntityTooLarge, ContentTooLarge,
  RequestURITooLarge, URITooLong, InternalServerError, RetryAfter, abort, isStatusClass, statusClasses
} from '../lib/exceptions.js'

/** What `fn` threw; fails the test when it returns instead. */
function caught (fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

/** The IANA 4xx/5xx registry (plus Werkzeug's 418), with Werkzeug's class names. */
const REGISTRY: ReadonlyArray<readonly [number, string]> = [
  [400, 'BadRequest'], [401, 'Unauthorized'], [402, 'PaymentRequired'], [403, 'Forbidden'], [404, 'NotFound'],
  [405, 'MethodNotAllowed'], [406, 'NotAcceptable'], [407, 'ProxyAuthenticationRequired'], [408, 'RequestTimeout'],
  [409, 'Conflict'], [410, 'Gone'], [411, 'LengthRequired'], [412, 'PreconditionFailed'],
  [413, 'RequestEntityTooLarge'], [414, 'RequestURITooLarge'], [415, 'UnsupportedMediaType'],
  [416, 'RequestedRangeNotSatisfiable'], [417, 'ExpectationFailed'], [418, 'ImATeapot'], [421, 'MisdirectedRequest'],
  [422, 'UnprocessableEntity'], [423, 'Locked'], [424, 'FailedDependency'], [425, 'TooEarly'],
  [426, 'UpgradeRequired'], [428, 'PreconditionRequired'], [429, 'TooManyRequests'],
  [431, 'RequestHeaderFieldsTooLarge'], [451, 'UnavailableForLegalReasons'], [500, 'InternalServerError'],
  [501, 'NotImplemented'], [502, 'BadGateway'], [503, 'ServiceUnavailable'], [504, 'GatewayTimeout'],
  [505, 'HTTPVersionNotSupported'], [506, 'VariantAlsoNegotiates'], [507, 'InsufficientStorage'],
  [508, 'LoopDetected'], [510, 'NotExtended'], [511, 'NetworkAuthenticationRequired']
]

const named = exceptions as unknown as Record<string, typeof HTTPException>

t.test('statusClasses holds exactly the registry, each under its Werkzeug name', async (t) => {
  t.equal(statusClasses.size, REGISTRY.length)
  for (const [code, name] of REGISTRY) {
    const cls = named[name]
    t.type(cls, 'function', `${name} is exported`)
    t.equal(statusClasses.get(code), cls, `${code} → ${name}`)
    t.equal(cls.code, code)
  }
  // Every error status Node knows has a class, except 509 (Apache's, never registered with IANA).
  const nodeStatuses = Object.keys(STATUS_CODES).map(Number).filter((code) => code >= 400 && code !== 509)
  t.same(nodeStatuses.filter((code) => !statusClasses.has(code)), [])
})

t.test('every status class: fields, name, String(e), instanceof chain, expose', async (t) => {
  for (const [code, name] of REGISTRY) {
    const cls = named[name]
    // eslint-disable-next-line new-cap -- a class held in a variable
    const e = new cls()
    t.ok(e instanceof cls && e instanceof HTTPException && e instanceof Error, `${name} instanceof chain`)
    t.equal(e.code, code)
    t.equal(e.statusCode, code)
    t.equal(e.name, STATUS_CODES[code], `${name}.name is Node's reason phrase`)
    t.type(cls.description, 'string')
    t.ok(cls.description.length > 0, `${name} has a default description`)
    t.equal(e.description, cls.description)
    t.equal(e.message, cls.description)
    t.equal(String(e), `${code} ${String(STATUS_CODES[code])}: ${cls.description}`)
    t.equal(e.expose, code < 500, `${name}: the class default is shown only for 4xx`)
    t.same(e.headers, {})
    t.notOk('cause' in e, 'no cause unless given')

    // eslint-disable-next-line new-cap -- a class held in a variable
    const custom = new cls('Custom text')
    t.equal(custom.description, 'Custom text')
    t.equal(custom.message, 'Custom text')
    t.equal(String(custom), `${code} ${String(STATUS_CODES[code])}: Custom text`)
    t.equal(custom.expose, true, `${name}: a description the app wrote may be shown`)
  }
})

t.test('a bare HTTPException is a 500', async (t) => {
  const e = new HTTPException()
  t.equal(e.code, 500)
  t.equal(e.name, 'Internal Server Error')
  t.equal(e.description, HTTPException.description)
  t.equal(e.expose, false)
})

t.test('constructor options', async (t) => {
  t.test('headers are copied, not shared', async (t) => {
    const headers: Record<string, string> = { 'X-Reason': 'maintenance' }
    const e = new NotFound(undefined, { headers })
    t.same(e.headers, { 'X-Reason': 'maintenance' })
    t.not(e.headers, headers)
    headers['X-Later'] = 'added'
    e.headers['X-Own'] = 'own'
    t.same(e.headers, { 'X-Reason': 'maintenance', 'X-Own': 'own' })
    t.same(headers, { 'X-Reason': 'maintenance', 'X-Later': 'added' })
  })

  t.test('cause is the ES2022 cause, including falsy causes', async (t) => {
    const root = new Error('db down')
    t.equal(new NotFound('x', { cause: root }).cause, root)
    const withNull = new NotFound('x', { cause: null })
    t.ok('cause' in withNull)
    t.equal(withNull.cause, null)
    t.notOk('cause' in new NotFound('x', { cause: undefined }))
  })

  t.test('extra fields are copied onto the error', async (t) => {
    const payload = { field: 'email' }
    const e = new exceptions.BadRequest('bad', { payload, retries: 0 }) as exceptions.BadRequest & { payload: unknown, retries: unknown }
    t.equal(e.payload, payload)
    t.equal(e.retries, 0)
    t.ok(Object.prototype.propertyIsEnumerable.call(e, 'payload'))
  })

  t.test("another class's own option names are plain extra fields on a class that does not use them", async (t) => {
    const original = new Error('kept')
    const e = new exceptions.BadRequest('bad', { originalError: original, validMethods: ['GET'] }) as exceptions.BadRequest & { originalError: unknown, validMethods: unknown }
    t.equal(e.originalError, original)
    t.same(e.validMethods, ['GET'])
    t.notOk('Allow' in e.headers, 'only a 405 turns validMethods into Allow')
  })

  t.test('fields named like Object.prototype members are copied, not silently dropped', async (t) => {
    const e = new NotFound('x', { constructor: 'c', hasOwnProperty: 'h', valueOf: 'v' }) as unknown as Record<string, unknown>
    t.equal(Object.getOwnPropertyDescriptor(e, 'constructor')?.value, 'c')
    t.equal(Object.getOwnPropertyDescriptor(e, 'hasOwnProperty')?.value, 'h')
    t.equal(Object.getOwnPropertyDescriptor(e, 'valueOf')?.value, 'v')
  })

  t.test('a "__proto__" key from parsed JSON becomes a field and leaves the class intact', async (t) => {
    const e = new NotFound('x', JSON.parse('{"__proto__": {"polluted": true}, "payload": 1}') as Record<string, unknown>)
    t.equal(Object.getPrototypeOf(e), NotFound.prototype)
    t.ok(e instanceof NotFound)
    t.equal((e as unknown as { polluted?: unknown }).polluted, undefined)
    t.same(Object.getOwnPropertyDescriptor(e, '__proto__')?.value, { polluted: true })
    t.equal(String(e), '404 Not Found: x')
  })

  t.test('reserved field names are refused with a TypeError that says the fix', async (t) => {
    for (const key of ['code', 'statusCode', 'status', 'name', 'description', 'message', 'stack', 'expose', 'toString']) {
      const error = caught(() => new NotFound('x', { [key]: 'oops' }))
      t.type(error, TypeError, key)
      t.equal((error as Error).message, `option "${key}" would overwrite the exception's own ${key}; pass it under another name`)
    }
  })

  t.test('the options a class turns into headers are not copied as fields', async (t) => {
    const e = new TooManyRequests(undefined, { retryAfter: 3 })
    t.notOk(Object.hasOwn(e, 'retryAfter'))
    const range = new RequestedRangeNotSatisfiable(undefined, { length: 5, units: 'items' })
    t.notOk(Object.hasOwn(range, 'length'))
    t.notOk(Object.hasOwn(range, 'units'))
    const auth = new Unauthorized(undefined, { wwwAuthenticate: 'Basic' })
    t.notOk(Object.hasOwn(auth, 'wwwAuthenticate'))
  })
})

t.test('MethodNotAllowed: validMethods → Allow', async (t) => {
  const e = new MethodNotAllowed(undefined, { validMethods: ['GET', 'HEAD', 'POST'] })
  t.same(e.validMethods, ['GET', 'HEAD', 'POST'])
  t.equal(e.headers.Allow, 'GET, HEAD, POST')
  const bare = new MethodNotAllowed()
  t.same(bare.validMethods, [])
  t.notOk('Allow' in bare.headers, 'no Allow without validMethods')
  // RFC 9110 §10.2.1: an empty Allow says the resource allows no methods.
  t.equal(new MethodNotAllowed(undefined, { validMethods: [] }).headers.Allow, '')
  const aborted = caught(() => abort(405, undefined, { validMethods: ['PUT'] })) as MethodNotAllowed
  t.equal(aborted.headers.Allow, 'PUT')
})

t.test('Unauthorized: wwwAuthenticate → WWW-Authenticate', async (t) => {
  t.equal(new Unauthorized(undefined, { wwwAuthenticate: 'Basic realm="admin"' }).headers['WWW-Authenticate'], 'Basic realm="admin"')
  t.same(new Unauthorized(undefined, { wwwAuthenticate: ['Basic realm="a"', 'Bearer'] }).headers['WWW-Authenticate'], ['Basic realm="a"', 'Bearer'])
  t.notOk('WWW-Authenticate' in new Unauthorized().headers)
  const aborted = caught(() => abort(401, undefined, { wwwAuthenticate: 'Bearer' })) as Unauthorized
  t.equal(aborted.headers['WWW-Authenticate'], 'Bearer')
})

t.test('TooManyRequests and ServiceUnavailable: retryAfter → Retry-After', async (t) => {
  for (const cls of [TooManyRequests, ServiceUnavailable]) {
    // eslint-disable-next-line new-cap -- a class held in a variable
    const retry = (value: unknown): unknown => new cls(undefined, { retryAfter: value as number }).headers['Retry-After']
    t.equal(retry(120), '120', `${cls.name}: seconds`)
    t.equal(retry(1.2), '2', 'fractions round up, never telling a client to come back early')
    t.equal(retry(0.001), '1')
    t.equal(retry(0), '0')
    t.equal(retry(-5), '0', 'negative → 0')
    t.equal(retry(-0.5), '0')
    t.equal(retry(new Date(Date.UTC(2030, 0, 2, 3, 4, 5))), 'Wed, 02 Jan 2030 03:04:05 GMT', 'a Date is an HTTP date (IMF-fixdate)')
    // eslint-disable-next-line new-cap -- a class held in a variable
    t.notOk('Retry-After' in new cls().headers)
    for (const bad of [NaN, Infinity, -Infinity, new Date('not a date'), '120']) {
      const error = caught(() => retry(bad))
      t.type(error, TypeError, `${cls.name} refuses ${String(bad)}`)
      t.match((error as Error).message, /^retryAfter must be a finite number of seconds or a valid Date, got /)
    }
  }
  t.equal((caught(() => abort(503, undefined, { retryAfter: 30 })) as ServiceUnavailable).headers['Retry-After'], '30')
  t.equal((caught(() => abort(429, 'slow', { retryAfter: 7, headers: { 'Retry-After': 1 } })) as TooManyRequests).headers['Retry-After'], '7',
    'retryAfter wins over a Retry-After in headers')
})

t.test('RequestedRangeNotSatisfiable: length/units → Content-Range', async (t) => {
  t.equal(new RequestedRangeNotSatisfiable(undefined, { length: 1000 }).headers['Content-Range'], 'bytes */1000')
  t.equal(new RequestedRangeNotSatisfiable(undefined, { length: 0 }).headers['Content-Range'], 'bytes */0')
  t.equal(new RequestedRangeNotSatisfiable(undefined, { length: 12, units: 'items' }).headers['Content-Range'], 'items */12')
  t.notOk('Content-Range' in new RequestedRangeNotSatisfiable().headers)
  t.notOk('Content-Range' in new RequestedRangeNotSatisfiable(undefined, { units: 'items' }).headers, 'units alone say nothing')
  for (const bad of [NaN, -1, 1.5, Infinity, '10']) {
    const error = caught(() => new RequestedRangeNotSatisfiable(undefined, { length: bad as number }))
    t.type(error, TypeError, `length ${String(bad)} refused`)
    t.match((error as Error).message, /^length must be a non-negative integer/)
  }
})

t.test('InternalServerError carries originalError, never its message', async (t) => {
  for (const original of [new Error('secret db password'), 'a string', null, { plain: true }]) {
    const e = new InternalServerError(undefined, { originalError: original })
    t.equal(e.originalError, original)
    t.equal(e.description, InternalServerError.description)
    t.equal(e.expose, false)
  }
  t.equal(new InternalServerError().originalError, undefined)
  t.notOk(String(new InternalServerError(undefined, { originalError: new Error('secret') })).includes('secret'))
})

t.test('IANA aliases are the same classes', async (t) => {
  t.equal(RangeNotSatisfiable, RequestedRangeNotSatisfiable)
  t.equal(ContentTooLarge, RequestEntityTooLarge)
  t.equal(URITooLong, RequestURITooLarge)
  t.ok(new ContentTooLarge() instanceof RequestEntityTooLarge)
  t.equal(new URITooLong().code, 414)
  t.equal(new RangeNotSatisfiable().name, 'Range Not Satisfiable')
})

t.test('user subclasses', async (t) => {
  class SiteFrozen extends HTTPException {
    static override code = 599
    static override description = 'The site is frozen for maintenance.'
  }
  const frozen = new SiteFrozen()
  t.equal(frozen.code, 599)
  t.equal(frozen.statusCode, 599)
  t.equal(frozen.name, 'Unknown Error')
  t.equal(String(frozen), '599 Unknown Error: The site is frozen for maintenance.')
  t.equal(frozen.expose, false)
  t.ok(frozen instanceof SiteFrozen && frozen instanceof HTTPException)

  class Frozen2 extends SiteFrozen {
    static override reason = 'Site Frozen'
  }
  t.equal(new Frozen2().name, 'Site Frozen')
  t.equal(String(new Frozen2('back at 5')), '599 Site Frozen: back at 5')

  class Bandwidth extends HTTPException { static override code = 509 }
  t.equal(new Bandwidth().name, 'Bandwidth Limit Exceeded', "a status Node knows gets Node's phrase")
  t.equal(new Bandwidth().description, HTTPException.description, 'the base description is inherited')

  class UserNotFound extends NotFound {}
  const user = new UserNotFound('no such user')
  t.equal(user.code, 404)
  t.equal(user.name, 'Not Found')
  t.ok(user instanceof NotFound)

  class Teapot418 extends HTTPException { static override code = 418 }
  t.equal(new Teapot418().name, "I'm a Teapot")
})

t.test('a subclass declaring a bad code throws a clear TypeError at construction', async (t) => {
  const limit = Error.stackTraceLimit
  for (const code of [99, 200, 399, 600, 1.5, NaN, '404']) {
    class BadCode extends HTTPException { static override code = code as number }
    for (const construct of [() => new BadCode(), () => abort(BadCode)]) {
      const error = caught(construct)
      t.type(error, TypeError)
      t.equal((error as Error).message, `BadCode declares static code ${String(code)}: an HTTP error class needs an integer status from 400 to 599`)
      t.match((error as Error).stack, /\n {4}at /, 'the TypeError itself has a stack: it is a bug report')
      t.equal(Error.stackTraceLimit, limit, 'the stack limit is left as it was')
    }
  }
})

t.test('HTTP exceptions are made without a stack: an abort is control flow, not a bug', async (t) => {
  const limit = Error.stackTraceLimit
  const quiet = new NotFound()
  t.notMatch(quiet.stack, /\n {4}at /, 'no stack frames')
  t.match(quiet.stack, /^Not Found: Nothing was found at this address\.$/, 'only the header, as V8 prints it')
  t.notMatch((caught(() => abort(503)) as Error).stack, /\n {4}at /, 'abort neither')
  t.equal(Error.stackTraceLimit, limit)

  // A throwing `cause` getter fails inside the super() call: the limit must still be restored.
  const hostile = { get cause (): unknown { throw new Error('cause getter') } }
  const error = caught(() => new NotFound(undefined, hostile))
  t.equal((error as Error).message, 'cause getter')
  t.equal(Error.stackTraceLimit, limit)
  t.match(new Error('plain').stack, /\n {4}at /, 'ordinary errors keep their stacks')
})

t.test('TooManyRequests and ServiceUnavailable share one Retry-After base, as Werkzeug\'s _RetryAfter', async (t) => {
  for (const cls of [TooManyRequests, ServiceUnavailable]) {
    // eslint-disable-next-line new-cap -- a class held in a variable
    const error = new cls(undefined, { retryAfter: 5 })
    t.ok(error instanceof RetryAfter, `${cls.name} is a RetryAfter`)
    t.equal(error.code, cls.code, 'with its own status')
  }
  t.notOk(isStatusClass(RetryAfter), 'the base is no status of its own')
  t.notOk([...statusClasses.values()].includes(RetryAfter as never))
})

t.test('abort', async (t) => {
  t.test('throws the class of every status, with description and options', async (t) => {
    for (const [code, name] of REGISTRY) {
      const cls = named[name]
      const error = caught(() => abort(code))
      t.ok(error instanceof cls, `abort(${code}) throws ${name}`)
      t.equal((error as HTTPException).description, cls.description)
      const described = caught(() => abort(code, 'why', { cause: 'c', headers: { 'X-A': '1' } })) as HTTPException
      t.equal(described.description, 'why')
      t.equal(described.cause, 'c')
      t.same(described.headers['X-A'], '1')
      t.ok(caught(() => abort(cls)) instanceof cls, `abort(${name})`)
    }
  })

  t.test('a status or class without an HTTP error class is a TypeError naming the fix', async (t) => {
    class NotHttp extends Error {}
    const cases: Array<[unknown, string]> = [
      [201, '201'], [99, '99'], [600, '600'], [599, '599'], [399, '399'], [NaN, 'NaN'], [404.5, '404.5'], [-404, '-404'],
      [NotHttp, 'NotHttp'], [Error, 'Error'], [() => undefined, '']
    ]
    for (const [status, shown] of cases) {
      const error = caught(() => abort(status as number))
      t.type(error, TypeError, `abort(${shown})`)
      t.equal((error as Error).message,
        `no HTTP error class for status ${shown}: abort takes a 4xx/5xx status that has a class, or an HTTPException subclass (class X extends HTTPException { static code = 599 })`)
    }
  })

  t.test('a user subclass works, with its own status', async (t) => {
    class SiteFrozen extends HTTPException { static override code = 599 }
    const error = caught(() => abort(SiteFrozen, 'frozen', { payload: 1 })) as SiteFrozen & { payload: unknown }
    t.ok(error instanceof SiteFrozen)
    t.equal(error.code, 599)
    t.equal(error.description, 'frozen')
    t.equal(error.payload, 1)
  })
})

t.test('isStatusClass', async (t) => {
  for (const cls of statusClasses.values()) t.ok(isStatusClass(cls), cls.name)
  t.ok(isStatusClass(RangeNotSatisfiable))
  class UserNotFound extends NotFound {}
  class Custom404 extends HTTPException { static override code = 404 }
  class SiteFrozen extends HTTPException { static override code = 599 }
  for (const value of [HTTPException, UserNotFound, Custom404, SiteFrozen, Error, 404, '404', null, undefined, {}, { code: 404 }]) {
    t.notOk(isStatusClass(value), String((value as { name?: unknown } | null)?.name ?? value))
  }
})

t.test('abort with a string status says to pass the number', async (t) => {
  t.throws(() => abort('404' as unknown as number), { name: 'TypeError', message: /status "404" \(a string: pass the number\)/ })
})
