/**
 * Property-based tests (fast-check, bounded runs): whatever is thrown, whatever an error handler
 * returns, whatever Accept header, description or URL arrives, the answer through `app.inject` is a
 * sound HTTP response — the status the contract gives (a 400–599 error status, or the 200–599
 * status a handler's tuple chose), the content type of its branch, JSON that parses, HTML with every
 * input escaped, no stack or hidden message outside debug mode, the expected log lines — and it
 * comes back within a time limit. Each property checks its answer against a small model of the
 * contract the README states (lookup, handler results, default responses, edge cases), not against the code under test.
 *
 * `FC_SEED=<n>` replays a run; the seed of a failing run is in fast-check's report.
 */
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { HTTPException, abort, frameworkErrors, type HandlerResult } from '../index.js'
import { statusClasses } from '../lib/exceptions.js'
import { escapeHtml, genericText, reasonPhrase } from '../lib/pages.js'
import { build, within, API, BROWSER, LEVEL } from './helpers.js'
import type { LogLine } from './helpers.js'

/** Cases run across the file, printed at the end for the closing note. */
let cases = 0

// Every rejection nobody handled during this file: the last test asserts there was none.
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED)
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed })

/** Every inject gets its own request id (Fastify reads it from this header), so log lines can be matched to it. */
const ID_HEADER = 'x-case-id'

/** What an injected response looks like to the checks. */
interface Answer {
  status: number
  type: string
  body: string
  raw: Buffer
  headers: Record<string, string | string[] | number | undefined>
  lines: LogLine[]
}

/** Builds an app that logs into `logs` and gives every request the id in ID_HEADER. */
async function app (options: Parameters<typeof build>[0] = {}, server: Parameters<typeof build>[1] = {}): Promise<{ app: FastifyInstance, ask: (url: string, headers?: Record<string, string>) => Promise<Answer> }> {
  const built = await build(options, { requestIdHeader: ID_HEADER, ...server })
  let next = 0
  const ask = async (url: string, headers: Record<string, string> = {}): Promise<Answer> => {
    const id = `case-${++next}`
    const res = await within(built.app.inject({ url, headers: { ...headers, [ID_HEADER]: id } }), 2000)
    const type = res.headers['content-type']
    return {
      status: res.statusCode,
      type: typeof type === 'string' ? type : '',
      body: res.body,
      raw: res.rawPayload,
      headers: res.headers,
      lines: built.logs.filter((line) => line.reqId === id)
    }
  }
  return { app: built.app, ask }
}

const JSON_TYPE = 'application/json; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'

/** The secret every thrown message starts with: it may only reach a client when the message is public. */
const SECRET = 'SECRET-'

/** Texts an attacker would try, mixed into arbitrary strings. */
const NASTY = [
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'", '"', '&amp;', '&', '<', '>',
  // eslint-disable-next-line no-template-curly-in-string -- a template-looking string is hostile input, meant literally
  '</p><script>', '<!--', ']]>', '${x}', '{{x}}', '<%= x %>', '\u0000', '\r\n', '\n', '\t', '\u2028',
  '\ud800', '\udfff', '\udfff\ud800', '😀', 'é', '\u202e', ' at Object.<anonymous> (/app/server.js:1:1)'
]

/** Any string: full code points, lone surrogates and control characters, with attack texts spliced in. */
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom(...NASTY))
    .map((parts) => parts.join('')),
  fc.constantFrom(...NASTY)
)

/** A string the way a client actually receives it: UTF-8 has no lone surrogates (they become U+FFFD). */
function wellFormed (text: string): string {
  return (text as string & { toWellFormed: () => string }).toWellFormed()
}

/** Checks shared by every default response: status range, type per branch, parsing, escaping, no stack. */
function checkDefault (t: Checks, answer: Answer, html: boolean, status: number, message: string): void {
  t.equal(answer.status, status)
  if (html) {
    t.equal(answer.type, HTML_TYPE)
    t.match(answer.headers['content-security-policy'], /^default-src 'none'/)
    t.equal(answer.headers['x-content-type-options'], 'nosniff')
    t.ok(answer.body.includes(`<p class="status">${status}</p>`), 'the status is on the page')
    t.ok(answer.body.includes(`<p>${wellFormed(escapeHtml(message))}</p>`), 'the message, escaped')
    t.notMatch(answer.body, /<script|<img|<!--|onerror=alert\(1\)>/i, 'no markup from the input')
  } else {
    t.equal(answer.type, JSON_TYPE)
    const body = JSON.parse(answer.body) as Record<string, unknown>
    t.equal(body.statusCode, status)
    t.equal(body.error, reasonPhrase(status))
    t.equal(body.message, message)
  }
  t.notMatch(answer.body, /property\.test\.ts|node_modules|node:internal/, 'no stack frame')
}

// ---------------------------------------------------------------------------------------------
// Thrown values

/** Markers for field values that are built, not generated. */
const GETTER = Symbol('a getter that throws')
const CIRCULAR = Symbol('a circular object')
const REVOKED = Symbol('a revoked Proxy')

/** Odd values for statusCode / status / code / expose / … */
const oddValue = fc.oneof(
  fc.integer({ min: 400, max: 599 }),
  fc.constantFrom(99, 100, 200, 302, 399, 600, 1000, -404, 404.5, Number.NaN, Infinity, -0, 0, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double(),
  fc.constantFrom('404', '500', '', 'FST_ERR_VALIDATION', 'ECONNREFUSED'),
  hostileText,
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.bigInt(),
  fc.constant(Symbol('odd')),
  fc.object({ maxDepth: 1 }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constantFrom(GETTER, CIRCULAR, REVOKED)
)

/** A status field: mostly a real error status (common ones and any 400–599), else an odd value. */
const statusValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(400, 401, 403, 404, 405, 409, 410, 418, 422, 429, 500, 502, 503, 504) },
  { weight: 2, arbitrary: fc.integer({ min: 400, max: 599 }) },
  { weight: 2, arbitrary: oddValue }
)

const headerName = fc.oneof(fc.constantFrom('retry-after', 'allow', 'x-a', 'content-length', 'trailer', 'set-cookie', 'bad name', 'x-ü', ''), fc.string({ maxLength: 8 }))
const headersArb = fc.oneof(fc.dictionary(headerName, oddValue, { maxKeys: 4 }), oddValue)

/** A thrown error (or error-like value), described so the model can say what the answer must be. */
interface ErrorSpec {
  base: 'Error' | 'TypeError' | 'Custom' | 'Plain' | 'NullProto'
  text: string
  fields: Partial<Record<'statusCode' | 'status' | 'code' | 'expose' | 'message' | 'headers' | 'validation' | 'cause' | 'stack', unknown>>
  frozen: boolean
  toStringThrows: boolean
  wrap: 'none' | 'revoked' | 'trapProxy' | 'transparentProxy'
}

const errorSpec: fc.Arbitrary<ErrorSpec> = fc.record({
  base: fc.constantFrom('Error', 'TypeError', 'Custom', 'Plain', 'NullProto'),
  text: hostileText,
  fields: fc.record({
    statusCode: statusValue,
    status: statusValue,
    code: oddValue,
    expose: fc.oneof(fc.boolean(), oddValue),
    message: fc.oneof({ weight: 3, arbitrary: hostileText.map((text) => SECRET + text) }, { weight: 1, arbitrary: oddValue }),
    headers: headersArb,
    validation: oddValue,
    cause: oddValue,
    stack: oddValue
  }, { requiredKeys: [] }),
  frozen: fc.boolean(),
  toStringThrows: fc.boolean(),
  wrap: fc.constantFrom('none', 'none', 'none', 'none', 'revoked', 'trapProxy', 'transparentProxy')
}) as fc.Arbitrary<ErrorSpec>

class CustomError extends Error {}

function materialise (value: unknown): unknown {
  if (value === CIRCULAR) {
    const circular: Record<string, unknown> = { statusCode: 404 }
    circular.self = circular
    return circular
  }
  if (value === REVOKED) {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    return proxy
  }
  return value
}

function buildError (spec: ErrorSpec): unknown {
  const message = SECRET + spec.text
  let error: Record<string, unknown>
  switch (spec.base) {
    case 'Error': error = new Error(message) as unknown as Record<string, unknown>; break
    case 'TypeError': error = new TypeError(message) as unknown as Record<string, unknown>; break
    case 'Custom': error = new CustomError(message) as unknown as Record<string, unknown>; break
    case 'Plain': error = { message }; break
    case 'NullProto': error = Object.assign(Object.create(null) as Record<string, unknown>, { message })
  }
  // V8 formats the stack lazily, from name and message: format it now, before the fields change them.
  // eslint-disable-next-line no-void -- reading the getter is the point: V8 formats the stack when it is first read
  void error.stack
  for (const [name, value] of Object.entries(spec.fields)) {
    if (value === GETTER) {
      Object.defineProperty(error, name, { enumerable: true, configurable: true, get () { throw new Error(`${SECRET}getter ${name}`) } })
    } else {
      Object.defineProperty(error, name, { enumerable: true, configurable: true, writable: true, value: materialise(value) })
    }
  }
  if (spec.toStringThrows) Object.defineProperty(error, 'toString', { value () { throw new Error(`${SECRET}toString`) } })
  if (spec.frozen) Object.freeze(error)
  switch (spec.wrap) {
    case 'none': return error
    case 'transparentProxy': return new Proxy(error, {})
    case 'revoked': {
      const { proxy, revoke } = Proxy.revocable(error, {})
      revoke()
      return proxy
    }
    case 'trapProxy': {
      const trap = (): never => { throw new Error(`${SECRET}trap`) }
      return new Proxy(error, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap, getOwnPropertyDescriptor: trap })
    }
  }
}

/** An HTTP error status: an integer from 400 to 599. */
function httpStatus (value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599 ? value : undefined
}

/**
 * The model of how a thrown value's status is read, for a built error: its status is `statusCode`, else `status`, when that
 * is an HTTP error status; a value that cannot be read (a Proxy that throws or is revoked, a getter
 * that throws on a field the status depends on) has none. No status → 500.
 * Returns the status and the message a client may see.
 */
function expected (spec: ErrorSpec): { status: number, message: string } {
  const f = spec.fields
  const server = { status: 500, message: genericText(500) }
  if (spec.wrap === 'revoked' || spec.wrap === 'trapProxy') return server
  const unreadable = (name: keyof ErrorSpec['fields']): boolean => name in f && f[name] === GETTER
  // The reader takes code, statusCode, expose and message together; status only when statusCode is no status.
  if (unreadable('code') || unreadable('statusCode') || unreadable('expose') || unreadable('message')) return server
  let status = httpStatus(f.statusCode)
  if (status === undefined) {
    if (unreadable('status')) return server
    status = httpStatus(f.status)
  }
  if (status === undefined) return server
  const message = 'message' in f ? f.message : SECRET + spec.text
  // http-errors' `expose`; without it 4xx messages are public and 5xx ones hidden.
  const exposed = typeof f.expose === 'boolean' ? f.expose : status < 500
  return { status, message: exposed && typeof message === 'string' ? message : genericText(status) }
}

/** Accept headers and the branch each one must get. */
const ACCEPTS: Array<[Record<string, string>, boolean]> = [
  [{}, false], [API, false], [{ accept: '*/*' }, false], [BROWSER, true], [{ accept: 'text/html' }, true],
  [{ accept: 'application/json;q=0.5, text/html' }, true]
]

t.test('arbitrary thrown values', async (t) => {
  const { ask, app: server } = await app()
  let current: unknown
  server.get('/sync', () => { throw current })
  server.get('/async', async () => { throw current })

  await t.test('errors with odd fields, getters that throw, frozen, revoked or trapping Proxies', async (t) => {
    await fc.assert(fc.asyncProperty(errorSpec, fc.constantFrom('/sync', '/async'), fc.constantFrom(...ACCEPTS), async (spec, route, [accept, html]) => {
      cases++
      current = buildError(spec)
      const answer = await ask(route, accept)
      const model = expected(spec)
      const sub = new Checks()
      checkDefault(sub, answer, html, model.status, model.message)
      if (!model.message.startsWith(SECRET)) sub.notMatch(answer.body, SECRET, 'no hidden message')
      sub.equal(answer.headers.vary, 'Accept')
      const answered = answer.lines.filter((line) => line.msg.endsWith(`answered ${model.status}`))
      sub.equal(answered.length, 1, 'one "answered" log line')
      sub.equal(answered[0]?.level, model.status >= 500 ? LEVEL.error : LEVEL.info)
      sub.equal(answer.lines.filter((line) => line.level >= LEVEL.error).length, model.status >= 500 ? 1 : 0, 'one error line for a 5xx, none for a 4xx')
      sub.report(spec)
    }), params(500))
    t.pass('every thrown error answered as the model says')
  })

  await t.test('anything at all (fc.anything)', async (t) => {
    const anything = fc.anything({ maxDepth: 2, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true })
    await fc.assert(fc.asyncProperty(anything, fc.constantFrom('/sync', '/async'), fc.constantFrom(...ACCEPTS), async (value, route, [accept, html]) => {
      cases++
      current = value
      const answer = await ask(route, accept)
      // Values fc.anything makes have no getters: a status can only come from plain fields.
      const record = typeof value === 'object' && value !== null ? value as Record<string, unknown> : {}
      const status = httpStatus(record.statusCode) ?? httpStatus(record.status)
      const sub = new Checks()
      if (status === undefined) {
        checkDefault(sub, answer, html, 500, genericText(500))
      } else {
        sub.equal(answer.status, status)
      }
      sub.report(value)
    }), params(300))
    t.pass('every thrown value answered')
  })
})

// ---------------------------------------------------------------------------------------------
// Handler results

/** A plain object, restated: `{}` literals and null-prototype objects. */
function plain (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** A tuple, restated: a 2–3 item array whose second is a status (100–599) or headers, third (if any) headers. */
function tuple (value: unknown): { body: unknown, status?: number, headers?: Record<string, unknown> } | undefined {
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) return undefined
  const [body, second, third] = value as unknown[]
  const status = typeof second === 'number' && Number.isInteger(second) && second >= 100 && second <= 599 ? second : undefined
  if (status === undefined && !plain(second)) return undefined
  if (value.length === 3 && (status === undefined || !plain(third))) return undefined
  return { body, status, headers: status === undefined ? second as Record<string, unknown> : third as Record<string, unknown> | undefined }
}

/** Fields that take one value (RFC 9110 §5.3): a list is refused for them. */
const SINGLE_VALUED = ['content-type', 'location', 'retry-after', 'content-range', 'etag', 'last-modified']

/**
 * What Node can send as a field value: visible ASCII, tab, obs-text; finite numbers; non-empty arrays
 * of those, except for a field that takes one value.
 */
function fieldValue (value: unknown, name: string): string | string[] | undefined {
  const valid = (text: string): boolean => /^[\t\x20-\x7e\x80-\xff]*$/.test(text)
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined
  if (typeof value === 'string') return valid(value) ? value : undefined
  if (SINGLE_VALUED.includes(name.toLowerCase())) return undefined
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && valid(item))) return value as string[]
  return undefined
}

function fieldName (name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && !['content-length', 'transfer-encoding', 'trailer'].includes(name.toLowerCase())
}

type Outcome =
  | { kind: 'fail' }
  | { kind: 'default', status: number, message: string }
  | { kind: 'body', status: number, type: string | undefined, body: Buffer, headers: Record<string, unknown> }

/** The model of the handler-result rules for the 410 handler's result. */
function outcome (result: unknown, mode: Mode): Outcome {
  if (mode === 'throw' || mode === 'reject') return { kind: 'fail' }
  if (result instanceof HTTPException) {
    // Flask's pass-through: the default response for it. Its description is public for 4xx, and for
    // 5xx when the application wrote it (`expose`, as http-errors has it).
    return { kind: 'default', status: result.code, message: result.expose && typeof result.description === 'string' ? result.description : genericText(result.code) }
  }
  const parts = tuple(result)
  const body = parts === undefined ? result : parts.body
  const status = parts?.status ?? 410
  const headers = parts?.headers ?? {}
  let sent: { body: Buffer, type: string }
  if (typeof body === 'string') sent = { body: Buffer.from(body), type: HTML_TYPE }
  else if (Buffer.isBuffer(body)) sent = { body, type: 'application/octet-stream' }
  else if (plain(body) || Array.isArray(body)) {
    try {
      sent = { body: Buffer.from(JSON.stringify(body)), type: JSON_TYPE }
    } catch {
      return { kind: 'fail' }
    }
  } else return { kind: 'fail' }
  // A 1xx is not a final response (RFC 9110 §15.2): the handler failed.
  if (status < 200) return { kind: 'fail' }
  // The handler's own Content-Type wins. One that is not a `type/subtype` (empty,
  // a number, several values) is the handler's mistake: Fastify then picks a type itself, which the
  // model does not predict. 204 and 304 carry no body and no type.
  let type: string | undefined = status === 204 || status === 304 ? undefined : sent.type
  for (const name of Object.keys(headers)) {
    const value = fieldValue(headers[name], name)
    if (name.toLowerCase() === 'content-type' && fieldName(name) && value !== undefined && type !== undefined) {
      type = typeof value === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*(;|$)/.test(value) ? value : undefined
    }
  }
  // 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5): Node drops it.
  return { kind: 'body', status, type, body: status === 204 || status === 304 ? Buffer.alloc(0) : sent.body, headers }
}

type Mode = 'return' | 'resolve' | 'asyncReturn' | 'throw' | 'reject'

const anythingOptions = { maxDepth: 2, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true }
const bodyArb = fc.oneof(hostileText, fc.jsonValue({ maxDepth: 2 }), fc.anything(anythingOptions), fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)))
const tupleStatus = fc.oneof(fc.constantFrom(100, 101, 199, 200, 204, 205, 302, 304, 400, 410, 418, 500, 599), fc.integer({ min: 100, max: 599 }), oddValue)
const tupleHeaders = fc.dictionary(
  fc.oneof(headerName, fc.constantFrom('content-type', 'Content-Type', 'x-custom')),
  fc.oneof(hostileText, fc.constantFrom('text/plain', 'application/json', 'text/html; charset=utf-8'), oddValue, fc.array(fc.string(), { maxLength: 2 })),
  { maxKeys: 3 }
)
const resultArb = fc.oneof(
  bodyArb,
  fc.tuple(bodyArb, tupleStatus),
  fc.tuple(bodyArb, tupleHeaders),
  fc.tuple(bodyArb, tupleStatus, tupleHeaders),
  fc.tuple(bodyArb, tupleStatus, tupleHeaders, bodyArb),
  fc.tuple(fc.constantFrom(...statusClasses.values()), hostileText).map(([Class, description]) => new Class(description))
)

t.test('arbitrary handler results', async (t) => {
  const { ask, app: server } = await app()
  let result: unknown
  let mode: Mode = 'return'
  // Any value at all, as a JavaScript handler may return: not held to HandlerResult.
  server.errorhandler(410)((() => {
    switch (mode) {
      case 'return': return result
      case 'resolve': return Promise.resolve(result)
      case 'asyncReturn': return (async () => { await new Promise((resolve) => setImmediate(resolve)); return result })()
      case 'throw': throw result
      case 'reject': return Promise.reject(result)
    }
  }) as () => HandlerResult)
  server.get('/', () => abort(410, 'gone'))
  await fc.assert(fc.asyncProperty(resultArb, fc.constantFrom<Mode>('return', 'return', 'resolve', 'asyncReturn', 'throw', 'reject'), async (value, how) => {
    cases++
    result = value
    mode = how
    const answer = await ask('/', API)
    const model = outcome(value, how)
    const sub = new Checks()
    const errorLines = answer.lines.filter((line) => line.level >= LEVEL.error)
    if (model.kind === 'fail') {
      checkDefault(sub, answer, false, 500, genericText(500))
      sub.equal(errorLines.length, 1, 'one error line')
      sub.match(errorLines[0]?.msg, /error handler 410 (threw|rejected|gave no usable response)/, 'the failure names the handler')
    } else if (model.kind === 'default') {
      checkDefault(sub, answer, false, model.status, model.message)
    } else {
      sub.equal(answer.status, model.status, 'the tuple status, else the error\'s')
      // Fastify adds `charset=utf-8` to JSON types the handler named without one: compare media types.
      const media = (type: string): string => type.split(';')[0].trim().toLowerCase()
      if (model.type !== undefined) sub.equal(media(answer.type), media(model.type), 'content type')
      sub.ok(answer.raw.equals(model.body), `body: got ${show(answer.body.slice(0, 100))}`)
      sub.equal(errorLines.length, 0, 'no error line')
      const refused = Object.keys(model.headers).filter((name) => !fieldName(name) || fieldValue(model.headers[name], name) === undefined)
      const warned = answer.lines.filter((line) => line.level === LEVEL.warn && /returned invalid headers/.test(line.msg))
      sub.equal(warned.length, refused.length > 0 ? 1 : 0, 'one warning when headers were refused')
      for (const name of Object.keys(model.headers)) {
        if (!refused.includes(name) && !/^(content-type|set-cookie)$/i.test(name)) sub.ok(answer.headers[name.toLowerCase()] !== undefined, `header ${name} sent`)
      }
    }
    sub.report([value, how])
  }), params(500))
  t.pass('every result answered as the model says')
})

// ---------------------------------------------------------------------------------------------
// Accept headers

/** Characters a header value can carry (visible ASCII, space, tab, obs-text). */
function headerSafe (text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '')
}

const qValue = fc.oneof(
  fc.integer({ min: 0, max: 1000 }).map((n) => String(n / 1000)),
  fc.constantFrom('2', '-1', '1.5', 'abc', '', '1.0000', '0.0001', '1e3', 'NaN', 'Infinity', '0', '1', ' 0.5', '0.5 ')
)
const mediaRange = fc.tuple(
  fc.constantFrom('text', 'application', '*', 'TEXT', 'image', 'x', ''),
  fc.constantFrom('html', 'json', '*', 'problem+json', 'vnd.api+json', 'xhtml+xml', 'HTML', 'plain', ''),
  fc.option(qValue),
  fc.option(fc.constantFrom('charset=utf-8', 'level=1', 'q', 'q=', ';;', '=', 'v=b3'))
).map(([type, subtype, q, extra]) => `${type}/${subtype}${extra === null ? '' : `;${extra}`}${q === null ? '' : `;q=${q}`}`)

const arbitraryAccept = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }).map(headerSafe),
  fc.array(mediaRange, { maxLength: 8 }).map((ranges) => ranges.join(',')),
  fc.tuple(fc.array(fc.oneof(mediaRange, fc.string({ maxLength: 6 }).map(headerSafe)), { maxLength: 6 }), fc.constantFrom(',', ', ', ' ,', ',,'))
    .map(([ranges, separator]) => ranges.join(separator)),
  fc.tuple(mediaRange, fc.integer({ min: 100, max: 4000 })).map(([range, times]) => `${range},`.repeat(times))
)

/**
 * Well-formed headers naming exactly `text/html` and `application/json` with q-values: the model of
 * RFC 9110 §12.5.1 for them — higher q wins, an equal q goes to the range listed first, q=0 is
 * "not acceptable", and nothing acceptable is JSON (an error is never turned into a 406).
 */
const rankedAccept = fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.boolean()).map(([html, json, htmlFirst]) => {
  const ranges = [`text/html;q=${html / 1000}`, `application/json;q=${json / 1000}`]
  const header = (htmlFirst ? ranges : ranges.reverse()).join(', ')
  const wantsHtml = html === 0 && json === 0 ? false : html > json || (html === json && htmlFirst)
  return { header, wantsHtml }
})

t.test('arbitrary Accept headers', async (t) => {
  const { ask } = await app()
  await t.test('malformed, huge, q-values out of range: a sound 404 in one of the two representations, the same each time', async (t) => {
    await fc.assert(fc.asyncProperty(arbitraryAccept, async (accept) => {
      cases++
      const answer = await ask('/nowhere', { accept })
      const again = await ask('/nowhere', { accept })
      const sub = new Checks()
      const html = answer.type === HTML_TYPE
      sub.ok(html || answer.type === JSON_TYPE, `one of the two types, got ${answer.type}`)
      checkDefault(sub, answer, html, 404, genericText(404))
      sub.equal(again.type, answer.type, 'the same answer for the same header')
      sub.equal(answer.headers.vary, 'Accept')
      sub.report(accept.length > 300 ? `${accept.slice(0, 300)}… (${accept.length} chars)` : accept)
    }), params(300))
    t.pass('every Accept header answered')
  })

  await t.test('text/html against application/json by q-value', async (t) => {
    await fc.assert(fc.asyncProperty(rankedAccept, async ({ header, wantsHtml }) => {
      cases++
      const answer = await ask('/nowhere', { accept: header })
      const sub = new Checks()
      checkDefault(sub, answer, wantsHtml, 404, genericText(404))
      sub.report(header)
    }), params(200))
    t.pass('the preferred representation every time')
  })
})

// ---------------------------------------------------------------------------------------------
// Descriptions and URLs

const errorStatuses = [...statusClasses.keys()]

t.test('arbitrary descriptions and URLs', async (t) => {
  const { ask, app: server } = await app({}, { frameworkErrors })
  let status = 404
  let description: string | undefined
  server.get('/abort', () => abort(status, description))

  await t.test('abort(status, description): shown for 4xx (escaped in HTML), hidden for 5xx unless the app wrote it', async (t) => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...errorStatuses), fc.option(hostileText, { nil: undefined }), fc.constantFrom(...ACCEPTS), async (code, text, [accept, html]) => {
      cases++
      status = code
      description = text
      const answer = await ask('/abort', accept)
      const sub = new Checks()
      // An explicit description is the application's own text (HTTPException.expose):
      // shown; without one, the class's generic text.
      checkDefault(sub, answer, html, code, text ?? genericText(code))
      sub.report([code, text])
    }), params(300))
    t.pass('every description answered')
  })

  await t.test('unknown URLs with markup, quotes, control characters and bad escapes', async (t) => {
    const segment = fc.oneof(hostileText, fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '..', '//', '?x=<script>', '#frag', '%3Cscript%3E'))
    await fc.assert(fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.constantFrom(...ACCEPTS), async (segments, [accept, html]) => {
      cases++
      // What a client can put on the wire: printable ASCII as it is (markup and quotes included), the rest percent-encoded.
      const path = '/nowhere/' + segments.map((text) => wellFormed(text).replace(/[^\x21-\x7e]/gu, (char) => encodeURIComponent(char))).join('/')
      const answer = await ask(path, accept)
      const sub = new Checks()
      sub.ok([400, 404].includes(answer.status), `400 (a bad escape) or 404, got ${answer.status}`)
      if (answer.status === 404) checkDefault(sub, answer, html, 404, genericText(404))
      else {
        sub.equal(answer.type, html ? HTML_TYPE : JSON_TYPE, 'the branch\'s type')
        if (html) sub.notMatch(answer.body, /<script|<img/i, 'no markup from the URL')
        else sub.equal((JSON.parse(answer.body) as { statusCode: number }).statusCode, 400)
      }
      sub.report(path)
    }), params(300))
    t.pass('every URL answered')
  })
})

// ---------------------------------------------------------------------------------------------
// Debug mode

t.test('debug mode: the stack is shown, and every input is still escaped', async (t) => {
  const { ask, app: server } = await app({ debug: true })
  let message = ''
  server.get('/crash', () => { throw new Error(message) })
  await fc.assert(fc.asyncProperty(hostileText, fc.constantFrom(...ACCEPTS), async (text, [accept, html]) => {
    cases++
    message = text
    const answer = await ask('/crash', accept)
    const sub = new Checks()
    sub.equal(answer.status, 500)
    sub.ok(answer.body.includes('property.test.ts'), 'the stack names this file')
    if (html) {
      sub.equal(answer.type, HTML_TYPE)
      sub.equal(answer.headers['cache-control'], 'no-store')
      sub.ok(answer.body.includes(`Error: ${wellFormed(escapeHtml(text))}</h1>`), 'the message, escaped')
      sub.notMatch(answer.body, /<script|<img|onerror=alert\(1\)>/i, 'no markup from the input')
    } else {
      sub.equal(answer.type, JSON_TYPE)
      sub.equal((JSON.parse(answer.body) as { message: string }).message, text, 'the real message, as JSON')
    }
    sub.report(text)
  }), params(200))
  t.pass('every debug page escaped')
})

/**
 * Collects failures of one property case, so a case is one assertion in tap's output and fast-check
 * sees the failure (and shrinks it) instead of tap counting thousands of passing asserts.
 */
class Checks {
  readonly failures: string[] = []
  private check (ok: boolean, what: string): void { if (!ok) this.failures.push(what) }
  equal (actual: unknown, wanted: unknown, what = 'equal'): void {
    this.check(Object.is(actual, wanted), `${what}: got ${show(actual)}, wanted ${show(wanted)}`)
  }

  ok (value: unknown, what: string): void { this.check(Boolean(value), what) }
  match (actual: unknown, pattern: RegExp, what = 'match'): void { this.check(typeof actual === 'string' && pattern.test(actual), `${what}: ${show(actual)} does not match ${String(pattern)}`) }
  notMatch (actual: string, pattern: RegExp | string, what = 'no match'): void {
    this.check(typeof pattern === 'string' ? !actual.includes(pattern) : !pattern.test(actual), `${what}: ${show(actual.slice(0, 300))} contains ${String(pattern)}`)
  }

  /** Throws (for fast-check) when a check failed. */
  report (input: unknown): void {
    if (this.failures.length > 0) throw new Error(`${this.failures.join('\n')}\ninput: ${show(input)}`)
  }
}

function show (value: unknown): string {
  try {
    return fc.stringify(value)
  } catch {
    return String(typeof value)
  }
}

t.test('closing figures', async (t) => {
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(unhandled, [], 'no unhandled promise rejection in the whole file')
  process.off('unhandledRejection', onUnhandled)
  t.comment(`property cases run: ${cases}`)
  t.ok(cases >= 2600, 'every property ran its cases')
})
