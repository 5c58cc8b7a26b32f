/**
 * RFC 9457 problem details (`problemDetails: true`, lib/problem.ts) and plain JSON errors:
 * every error source in both JSON formats, a prefix that forces JSON while the site negotiates, custom
 * error classes with their own `type` and members, validation details, routes with response schemas,
 * and errors whose problem members are unusable.
 */
import t from 'tap'
import Fastify from 'fastify'
import createHttpError from 'http-errors'
import flaskErrors, {
  Conflict, FFE_INVALID_OPTION, InternalServerError, MethodNotAllowed, NotFound, PROBLEM_CONTENT_TYPE, ServiceUnavailable, abort
} from '../index.js'
import { errorView } from '../lib/pages.js'
import { BLANK_TYPE, problemBody, validationErrors } from '../lib/problem.js'
import { readThrown } from '../lib/thrown.js'
import { API, BROWSER, LEVEL, build } from './helpers.js'
import type { LogLine } from './helpers.js'

const PROBLEM = /^application\/problem\+json; charset=utf-8$/
const PLAIN = /^application\/json; charset=utf-8$/

/** Thrown by a route; its handler answers with a different HTTPException (Flask's pass-through). */
class OrderLocked extends Error {}

const ORDER_SCHEMA = {
  body: {
    type: 'object',
    required: ['name'],
    properties: { name: { type: 'string' }, address: { type: 'object', properties: { city: { type: 'string' } } } }
  }
} as const

/** An app with one route per error source. `bodyLimit` 64 makes a 413 easy. */
async function sources (options: Parameters<typeof build>[0]): Promise<Awaited<ReturnType<typeof build>>> {
  const built = await build(options, { bodyLimit: 64 })
  const { app } = built
  app.errorhandler(OrderLocked)(() => new Conflict('order 7 is locked'))
  app.get('/orders/:id', (request) => abort(404, `no order ${(request.params as { id: string }).id}`))
  app.get('/foreign', () => { throw createHttpError(409, 'version conflict') })
  app.get('/crash', () => { throw new Error('db password rejected for db.internal') })
  app.get('/locked', () => { throw new OrderLocked('locked by job 12') })
  app.post('/orders', { schema: ORDER_SCHEMA }, async () => 'created')
  return built
}

interface Case {
  readonly name: string
  readonly request: { method?: 'GET' | 'POST' | 'DELETE', url: string, payload?: string, headers?: Record<string, string> }
  readonly status: number
  readonly detail: string
  readonly code?: string
  readonly allow?: string
}

const JSON_BODY = { 'content-type': 'application/json' }

const CASES: readonly Case[] = [
  { name: 'abort(404) (an HTTPException)', request: { url: '/orders/7?expand=items' }, status: 404, detail: 'no order 7' },
  { name: 'a foreign 4xx error (http-errors)', request: { url: '/foreign' }, status: 409, detail: 'version conflict' },
  { name: 'an unhandled error (5xx hidden)', request: { url: '/crash' }, status: 500, detail: InternalServerError.description },
  { name: 'a handler returning an HTTPException', request: { url: '/locked' }, status: 409, detail: 'order 7 is locked' },
  { name: 'routing 404', request: { url: '/nowhere' }, status: 404, detail: NotFound.description },
  { name: 'routing 405', request: { method: 'DELETE', url: '/orders' }, status: 405, detail: MethodNotAllowed.description, allow: 'POST' },
  { name: 'bad JSON', request: { method: 'POST', url: '/orders', payload: '{"name":', headers: JSON_BODY }, status: 400, detail: 'Body is not valid JSON but content-type is set to \'application/json\'', code: 'FST_ERR_CTP_INVALID_JSON_BODY' },
  { name: '413', request: { method: 'POST', url: '/orders', payload: JSON.stringify({ name: 'x'.repeat(100) }), headers: JSON_BODY }, status: 413, detail: 'Request body is too large', code: 'FST_ERR_CTP_BODY_TOO_LARGE' },
  { name: '415', request: { method: 'POST', url: '/orders', payload: '<order/>', headers: { 'content-type': 'application/xml' } }, status: 415, detail: 'Unsupported Media Type', code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' },
  { name: 'validation', request: { method: 'POST', url: '/orders', payload: '{}', headers: JSON_BODY }, status: 400, detail: 'body must have required property \'name\'', code: 'FST_ERR_VALIDATION' }
]

const REASONS: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error' }

/** `object` without its undefined members (t.same tells `{ code: undefined }` from `{}`). */
function defined (object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined))
}

const VALIDATION = [{ instancePath: '', schemaPath: '#/required', keyword: 'required', params: { missingProperty: 'name' }, message: 'must have required property \'name\'' }]

t.test('every error source, plain JSON (Fastify\'s shape) and problem+json', async (t) => {
  const plain = await sources({})
  const problem = await sources({ problemDetails: true })
  for (const c of CASES) {
    const request = { ...c.request, headers: { ...API, ...c.request.headers } }
    const path = c.request.url.split('?')[0]
    const validation = c.code === 'FST_ERR_VALIDATION' ? { validation: VALIDATION, validationContext: 'body' } : {}

    const a = await plain.app.inject(request)
    t.equal(a.statusCode, c.status, `${c.name}: plain status`)
    t.match(a.headers['content-type'], PLAIN, `${c.name}: plain content type`)
    t.same(a.json(), defined({ statusCode: c.status, code: c.code, error: REASONS[c.status], message: c.detail, ...validation, requestId: a.json().requestId }), `${c.name}: plain body`)
    t.match(a.json().requestId, /^req-/)

    const b = await problem.app.inject(request)
    t.equal(b.statusCode, c.status, `${c.name}: problem status`)
    t.match(b.headers['content-type'], PROBLEM, `${c.name}: problem content type`)
    const errors = c.code === 'FST_ERR_VALIDATION' ? { errors: [{ pointer: '#/body/name', detail: 'must have required property \'name\'', keyword: 'required' }] } : {}
    t.same(b.json(), defined({
      type: BLANK_TYPE, title: REASONS[c.status], status: c.status, detail: c.detail, instance: path, code: c.code, requestId: b.json().requestId, ...errors, ...validation
    }), `${c.name}: problem body`)
    t.same(Object.keys(b.json()).slice(0, 5), ['type', 'title', 'status', 'detail', 'instance'], `${c.name}: RFC 9457 members first`)
    if (c.allow !== undefined) {
      t.equal(a.headers.allow, c.allow, `${c.name}: Allow (plain)`)
      t.equal(b.headers.allow, c.allow, `${c.name}: Allow (problem)`)
    }
    t.equal(b.headers.vary, 'Accept', `${c.name}: negotiated`)
  }
  t.notMatch(JSON.stringify(plain.logs.filter((l) => l.level >= LEVEL.warn).map((l) => l.msg)), /problem details/, 'no warnings for well-formed errors')
})

t.test('problemDetails changes only the JSON side: browsers still get HTML', async (t) => {
  const { app } = await sources({ problemDetails: true })
  for (const c of CASES) {
    const res = await app.inject({ ...c.request, headers: { ...BROWSER, ...c.request.headers } })
    t.equal(res.statusCode, c.status, c.name)
    t.match(res.headers['content-type'], /^text\/html/, c.name)
  }
})

t.test('Accept: application/problem+json gets JSON; problem+json when the option is on', async (t) => {
  const plain = await sources({})
  const problem = await sources({ problemDetails: true })
  const headers = { accept: 'application/problem+json, text/html;q=0.9' }
  const a = await plain.app.inject({ url: '/orders/1', headers })
  t.match(a.headers['content-type'], PLAIN, 'option off: Fastify\'s JSON, never a 406')
  const b = await problem.app.inject({ url: '/orders/1', headers })
  t.match(b.headers['content-type'], PROBLEM)
  t.equal(b.json().detail, 'no order 1')
})

t.test('a prefix that forces problem+json while the site negotiates', async (t) => {
  const { app } = await build()
  app.get('/orders', (request, reply) => reply.abort(410))
  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json', problemDetails: true })
    api.get('/orders', (request, reply) => reply.abort(410, 'orders moved to /api/v2/orders'))
  }, { prefix: '/api' })

  const site = await app.inject({ url: '/orders', headers: BROWSER })
  t.match(site.headers['content-type'], /^text\/html/, 'the site: HTML for browsers')
  const siteJson = await app.inject({ url: '/orders', headers: API })
  t.match(siteJson.headers['content-type'], PLAIN, 'the site: Fastify\'s JSON for API clients')

  for (const [method, url, status] of [['GET', '/api/orders', 410], ['GET', '/api/nowhere', 404], ['DELETE', '/api/orders', 405]] as const) {
    const res = await app.inject({ method, url, headers: BROWSER })
    t.equal(res.statusCode, status, `${method} ${url}`)
    t.match(res.headers['content-type'], PROBLEM, `${method} ${url}: problem+json even for a browser`)
    t.notOk('vary' in res.headers, 'a forced format does not vary on Accept')
    t.equal(res.json().instance, url)
  }
  t.equal((await app.inject({ method: 'DELETE', url: '/api/orders' })).headers.allow, 'GET, HEAD')
  const unknown = await app.inject({ url: '/nowhere', headers: BROWSER })
  t.match(unknown.headers['content-type'], /^text\/html/, 'routing 404s outside the prefix stay the site\'s')
})

t.test('per context: problem+json at the root, Fastify\'s shape in a child; options are validated', async (t) => {
  const { app } = await build({ problemDetails: true })
  app.get('/a', () => abort(400))
  await app.register(async (legacy) => {
    await legacy.register(flaskErrors, { problemDetails: false })
    legacy.get('/a', () => abort(400))
  }, { prefix: '/legacy' })
  t.match((await app.inject('/a')).headers['content-type'], PROBLEM)
  t.match((await app.inject('/legacy/a')).headers['content-type'], PLAIN)
  t.match((await app.inject('/legacy/nowhere')).headers['content-type'], PLAIN, 'its routing 404s too')

  for (const bad of ['yes', 1, null]) {
    await t.rejects(async () => { await Fastify().register(flaskErrors, { problemDetails: bad as unknown as boolean }) }, FFE_INVALID_OPTION)
  }
  await t.rejects(async () => { await Fastify().register(flaskErrors, { problemDetails: 'yes' as unknown as boolean }) }, { message: /problemDetails must be true or false, got "yes"/ })
})

/** The Flask docs' API error, with a problem type of its own. */
class InvalidAPIUsage extends Error {
  static type = 'https://example.com/problems/invalid-api-usage'
  statusCode = 400
  constructor (message: string, statusCode?: number, readonly payload: Record<string, unknown> = {}) {
    super(message)
    if (statusCode !== undefined) this.statusCode = statusCode
  }
}

/** RFC 9457 §3's example, through `toProblem()`. */
class OutOfCredit extends Error {
  readonly statusCode = 403
  constructor (readonly balance: number, readonly price: number, readonly extra: Record<string, unknown> = {}) {
    super(`Your current balance is ${balance}, but that costs ${price}.`)
  }

  toProblem (): Record<string, unknown> {
    return { type: 'https://example.com/probs/out-of-credit', title: 'You do not have enough credit.', balance: this.balance, accounts: ['/account/12345', '/account/67890'], ...this.extra }
  }
}

/** Logs at warn level or above that talk about problem details. */
function problemWarnings (logs: LogLine[]): unknown[] {
  return logs.filter((l) => l.level === LEVEL.warn && /problem details/.test(l.msg)).map((l) => l.problemWarnings)
}

t.test('custom errors: their own type and extension members', async (t) => {
  t.test('a static type and a payload (the Flask docs\' InvalidAPIUsage)', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    app.get('/users', () => { throw new InvalidAPIUsage('No user id provided', 422, { field: 'id', hint: 'GET /users?id=1' }) })
    const res = await app.inject('/users')
    t.equal(res.statusCode, 422)
    t.same(res.json(), {
      type: 'https://example.com/problems/invalid-api-usage',
      title: 'Unprocessable Entity',
      status: 422,
      detail: 'No user id provided',
      instance: '/users',
      field: 'id',
      hint: 'GET /users?id=1',
      requestId: res.json().requestId
    })
    t.same(problemWarnings(logs), [])
  })

  t.test('toProblem(): type, title, instance and members; status stays the response\'s', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    app.get('/buy', () => { throw new OutOfCredit(30, 50, { status: 200, instance: '/account/12345/msgs/abc', requestId: 'spoofed', code: 'mine' }) })
    const res = await app.inject('/buy')
    t.equal(res.statusCode, 403)
    const body = res.json()
    t.same(body, {
      type: 'https://example.com/probs/out-of-credit',
      title: 'You do not have enough credit.',
      status: 403,
      detail: 'Your current balance is 30, but that costs 50.',
      instance: '/account/12345/msgs/abc',
      balance: 30,
      accounts: ['/account/12345', '/account/67890'],
      code: 'mine',
      requestId: body.requestId
    })
    t.match(body.requestId, /^req-/, 'the plugin\'s requestId wins over the error\'s')
    t.same(problemWarnings(logs), [['"status" is always the response\'s own status and was not taken from the error']])
  })

  t.test('abort() with a type and a payload: the options become fields', async (t) => {
    const { app } = await build({ problemDetails: true })
    app.get('/x', () => abort(409, 'the order was changed meanwhile', { type: '/problems/edit-conflict', payload: { version: 7 } }))
    const res = await app.inject('/x')
    t.same(res.json(), { type: '/problems/edit-conflict', title: 'Conflict', status: 409, detail: 'the order was changed meanwhile', instance: '/x', version: 7, requestId: res.json().requestId })
  })

  t.test('a `type` that is not a URI is someone else\'s field, not a problem type', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    // raw-body's errors carry type: 'entity.too.large'; a class may have a static `type` of any kind.
    class RawBodyError extends Error { statusCode = 413; type = 'entity.too.large' }
    class Odd extends Error { static type = 42; statusCode = 400 }
    app.get('/raw', () => { throw new RawBodyError('too large') })
    app.get('/odd', () => { throw new Odd('odd') })
    app.get('/word', () => { throw Object.assign(new Error('word'), { statusCode: 400, type: 'validation error' }) })
    for (const url of ['/raw', '/odd', '/word']) t.equal((await app.inject(url)).json().type, BLANK_TYPE, url)
    t.same(problemWarnings(logs), [], 'not worth a warning: the field was never meant as a problem type')
  })

  t.test('a problem type is sent only when it is a web page or an inert name', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    const accepted = [
      'https://example.com/probs/out-of-credit', 'HTTP://example.com/p?x=1#y', '/problems/name-taken', './name-taken', '../probs/x',
      'about:blank', 'tag:example.com,2024:out-of-credit', 'urn:example:problem:out-of-credit', 'https://example.com/caf%C3%A9'
    ]
    app.get('/type', (request) => abort(409, 'conflict', { type: (request.query as { t: string }).t }))
    for (const type of accepted) {
      t.equal((await app.inject({ url: '/type', query: { t: type } })).json().type, type, type)
    }
    t.same(problemWarnings(logs), [], 'no warning for an accepted type')
  })

  t.test('a javascript:, data:, vbscript: or file: type (or one with control characters) is replaced by about:blank, with a warning', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    const refused = [
      'javascript:alert(document.cookie)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)', 'file:///etc/passwd', 'ftp://example.com/p', 'about:config', 'https://', 'urn:', 'tag:',
      'https://example.com/a\nb', '/problems/x\u0000', 'https://example.com/has space', 'https://example.com/<script>', 'https://example.com/café',
      'x\u0085y'
    ]
    let type = ''
    class FromField extends Error { statusCode = 400; type = type }
    class FromStatic extends Error { statusCode = 400 }
    class FromProblem extends Error { statusCode = 400; toProblem (): Record<string, unknown> { return { type, instance: type } } }
    app.get('/field', () => { throw new FromField('f') })
    app.get('/abort', () => abort(400, 'a', { type }))
    app.get('/static', () => { (FromStatic as unknown as { type: string }).type = type; throw new FromStatic('s') })
    app.get('/problem', () => { throw new FromProblem('p') })
    const warned = { field: 'its "type" must be', abort: 'its "type" must be', static: 'its class\'s static "type" must be', problem: '"type" must be' }
    for (const value of refused) {
      type = value
      for (const [route, warning] of Object.entries(warned)) {
        logs.length = 0
        const res = await app.inject(`/${route}`)
        const label = `${JSON.stringify(value)} from /${route}`
        t.equal(res.statusCode, 400, label)
        t.equal(res.json().type, BLANK_TYPE, label)
        t.notMatch(res.body, /javascript|vbscript|data:|file:/i, `${label}: not in the body`)
        const warnings = problemWarnings(logs)
        t.equal(warnings.length, 1, `${label}: one warning line`)
        t.match(JSON.stringify(warnings[0]), warning.replace(/"/g, '\\"'), `${label}: the warning says which type`)
        t.match(JSON.stringify(warnings[0]), 'an http(s) URI, a relative reference', `${label}: the warning says what is accepted`)
      }
    }
    t.equal(logs.filter((l) => l.level === LEVEL.warn).length > 0, true, 'warnings go to the request log')
  })

  t.test('a refused type on the instance falls back to the class\'s own; a refused instance member keeps the path', async (t) => {
    const { app, logs } = await build({ problemDetails: true })
    app.get('/fallback', () => { throw Object.assign(new InvalidAPIUsage('x', 400), { type: 'javascript:alert(1)' }) })
    app.get('/instance', () => { throw Object.assign(new Error('i'), { statusCode: 400, toProblem: () => ({ instance: 'javascript:alert(1)' }) }) })
    const res = await app.inject('/fallback')
    t.equal(res.json().type, InvalidAPIUsage.type)
    const instance = await app.inject('/instance')
    t.equal(instance.json().instance, '/instance', 'instance is a URI reference too (RFC 9457 §3.1.5)')
    t.equal(problemWarnings(logs).length, 2)
  })

  t.test('5xx: the detail stays hidden; payload members, being the app\'s public data, are sent', async (t) => {
    const { app } = await build({ problemDetails: true })
    app.get('/maintenance', () => { throw new InvalidAPIUsage('disk /dev/sda1 full on db-3', 503, { retryInSeconds: 30 }) })
    const res = await app.inject('/maintenance')
    t.equal(res.statusCode, 503)
    t.equal(res.json().detail, ServiceUnavailable.description)
    t.equal(res.json().retryInSeconds, 30)
    t.notMatch(res.body, /sda1/)
  })

  t.test('an error without a status becomes a 500: none of its members leak', async (t) => {
    const { app } = await build({ problemDetails: true })
    class Leaky extends Error { static type = 'https://example.com/internal'; payload = { dsn: 'postgres://admin:pw@db' } }
    app.get('/leak', () => { throw new Leaky('boom') })
    const res = await app.inject('/leak')
    t.equal(res.statusCode, 500)
    t.same(res.json(), { type: BLANK_TYPE, title: 'Internal Server Error', status: 500, detail: InternalServerError.description, instance: '/leak', requestId: res.json().requestId })
  })

  t.test('a member named __proto__ (from parsed JSON) stays a member', async (t) => {
    const { app } = await build({ problemDetails: true })
    app.get('/proto', () => { throw new InvalidAPIUsage('bad', 400, JSON.parse('{"__proto__":{"polluted":true},"ok":1}') as Record<string, unknown>) })
    const res = await app.inject('/proto')
    t.equal(res.json().ok, 1)
    t.match(res.body, /"__proto__":\{"polluted":true\}/)
    t.equal(({} as Record<string, unknown>).polluted, undefined)
  })
})

t.test('unusable problem members: the problem still goes out, with a warning', async (t) => {
  const { app, logs } = await build({ problemDetails: true })
  class Throwing extends Error {
    statusCode = 422
    toProblem (): Record<string, unknown> { throw new Error('toProblem exploded') }
  }
  class ThrowingString extends Error {
    statusCode = 422
    // eslint-disable-next-line no-throw-literal -- a thrown non-error is the case under test
    toProblem (): Record<string, unknown> { throw 'a string' as unknown as Error }
  }
  class HostileMessage extends Error {
    statusCode = 422
    toProblem (): Record<string, unknown> {
      const failure = new Error('x')
      Object.defineProperty(failure, 'message', { get () { throw new Error('no message either') } })
      throw failure
    }
  }
  class GetterPayload extends Error {
    statusCode = 422
    get payload (): Record<string, unknown> { throw new Error('payload getter') }
  }
  const cases: ReadonlyArray<readonly [string, () => unknown, string]> = [
    ['/throws', () => { throw new Throwing('t') }, 'toProblem() or payload threw (toProblem exploded)'],
    ['/throws-string', () => { throw new ThrowingString('t') }, 'threw ("a string")'],
    ['/hostile-message', () => { throw new HostileMessage('t') }, 'threw (Error object)'],
    ['/getter', () => { throw new GetterPayload('t') }, 'threw (payload getter)'],
    ['/payload-string', () => { throw new InvalidAPIUsage('t', 422, 'not an object' as unknown as Record<string, unknown>) }, 'payload gave "not an object", not a plain object'],
    ['/to-problem-array', () => { throw Object.assign(new Error('t'), { statusCode: 422, toProblem: () => [1, 2] }) }, 'toProblem() gave array(2), not a plain object'],
    ['/bigint', () => { throw new InvalidAPIUsage('t', 422, { big: 10n }) }, 'cannot be serialised as JSON (Do not know how to serialize a BigInt)'],
    ['/bad-members', () => { throw Object.assign(new Error('t'), { statusCode: 422, toProblem: () => ({ type: 'no uri', title: 7, detail: 'own detail' }) }) }, '"type" must be an http(s) URI, a relative reference ("/problems/x"), about:blank, or a tag: or urn: URI, got "no uri"; the default was kept']
  ]
  for (const [url, handler] of cases) app.get(url, handler)
  for (const [url, , warning] of cases) {
    logs.length = 0
    const res = await app.inject(url)
    t.equal(res.statusCode, 422, url)
    t.match(res.headers['content-type'], PROBLEM, url)
    t.match(res.json(), { title: 'Unprocessable Entity', status: 422, instance: url }, url)
    const warnings = problemWarnings(logs)
    t.equal(warnings.length, 1, `${url}: one warning line`)
    t.match(JSON.stringify(warnings[0]), warning.replace(/"/g, '\\"'), `${url}: says what was wrong`)
  }
  logs.length = 0
  const mixed = await app.inject('/bad-members')
  t.same(mixed.json(), { type: BLANK_TYPE, title: 'Unprocessable Entity', status: 422, detail: 'own detail', instance: '/bad-members', requestId: mixed.json().requestId }, 'usable members are kept')
  t.same(problemWarnings(logs), [['"type" must be an http(s) URI, a relative reference ("/problems/x"), about:blank, or a tag: or urn: URI, got "no uri"; the default was kept', '"title" must be a string, got 7; the default was kept']])
})

t.test('validation details', async (t) => {
  const { app } = await build({ problemDetails: true }, { ajv: { customOptions: { allErrors: true, removeAdditional: false } } })
  app.post('/orders/:id', {
    schema: {
      params: { type: 'object', properties: { id: { type: 'integer' } } },
      querystring: { type: 'object', properties: { page: { type: 'integer', minimum: 1 } } },
      headers: { type: 'object', required: ['x-api-key'], properties: { 'x-api-key': { type: 'string' } } },
      body: {
        type: 'object',
        required: ['name', 'a/b~c'],
        properties: { name: { type: 'string' }, 'a/b~c': { type: 'string' }, 'naïve name': { type: 'integer' }, address: { type: 'object', properties: { city: { type: 'string' } } } },
        additionalProperties: false
      }
    }
  }, async () => 'ok')
  const key = { 'x-api-key': 'k', ...API }
  const pointers = async (url: string, payload: unknown, headers: Record<string, string> = key): Promise<{ context: string, pointers: string[] }> => {
    const res = await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
    t.equal(res.statusCode, 400)
    const body = res.json()
    t.equal(body.errors.length, body.validation.length, 'one problem entry per validation error')
    return { context: body.validationContext, pointers: body.errors.map((e: { pointer: string }) => e.pointer) }
  }
  t.same(await pointers('/orders/x', {}), { context: 'params', pointers: ['#/params/id'] })
  // Fastify validates params, body, querystring, headers in that order and stops at the first failure.
  const valid = { name: 'n', 'a/b~c': 'x' }
  t.same(await pointers('/orders/1?page=0', valid), { context: 'querystring', pointers: ['#/querystring/page'] })
  t.same(await pointers('/orders/1', valid, API), { context: 'headers', pointers: ['#/headers/x-api-key'] })
  // Fastify's Ajv coerces scalars (5 → "5"): an object is what a string property cannot become.
  t.same(await pointers('/orders/1', { address: { city: {} }, 'naïve name': 'x', extra: 1 }), {
    context: 'body',
    pointers: ['#/body/name', '#/body/a~1b~0c', '#/body/extra', '#/body/na%C3%AFve%20name', '#/body/address/city']
  }, 'missing (required), additional, escaped (RFC 6901) and percent-encoded (RFC 3986) names, nested paths')

  const res = await app.inject({ method: 'POST', url: '/orders/1', payload: { ...valid, address: { city: {} } }, headers: key })
  t.same(res.json().errors, [{ pointer: '#/body/address/city', detail: 'must be string', keyword: 'type' }])
  t.same(res.json().validation, [{ instancePath: '/address/city', schemaPath: '#/properties/address/properties/city/type', keyword: 'type', params: { type: 'string' }, message: 'must be string' }])
  t.equal(res.json().detail, 'body/address/city must be string')
})

t.test('validation details from a custom validator compiler, whatever their shape', async (t) => {
  const { app } = await build({ problemDetails: true })
  const odd = ['not an object', { instancePath: 'no-leading-slash', message: 5, keyword: 'custom' }, { params: { missingProperty: 7 } }, { instancePath: '/x', params: { propertyName: 'é' }, message: 'bad name' }]
  app.post('/odd', { schema: { body: { type: 'object' } }, validatorCompiler: () => () => ({ error: odd as unknown as Error }) }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/odd', payload: {} })
  t.equal(res.statusCode, 400)
  t.same(res.json().errors, [
    { pointer: '#/body', detail: 'is invalid' },
    { pointer: '#/body', detail: 'failed "custom"', keyword: 'custom' },
    { pointer: '#/body', detail: 'is invalid' },
    { pointer: '#/body/x/%C3%A9', detail: 'bad name' }
  ])
  t.same(res.json().validation, [{}, { instancePath: 'no-leading-slash', keyword: 'custom' }, { params: { missingProperty: 7 } }, odd[3]],
    'the details keep only Ajv\'s documented members, of Ajv\'s types; an entry that is not an object stays as {}')
})

t.test('validationErrors and problemBody as functions', async (t) => {
  t.equal(validationErrors(undefined, 'body'), undefined)
  t.same(validationErrors([{ instancePath: '/a' }], undefined), [{ pointer: '#/a', detail: 'is invalid' }], 'no context: the pointer starts at the value')
  t.same(validationErrors([{ params: { additionalProperty: '%~/?#' } }], 'weird/context'), [{ pointer: '#/weird~1context/%25~0~1?%23', detail: 'is invalid' }])
  t.same(validationErrors([{ params: { missingProperty: 'x\ud800y' } }], 'body'), [{ pointer: '#/body/x%EF%BF%BDy', detail: 'is invalid' }], 'a lone surrogate is encoded as U+FFFD, not thrown')

  const warnings: unknown[] = []
  const log = { warn: (...args: unknown[]) => { warnings.push(args) } } as unknown as Parameters<typeof problemBody>[2]
  for (const value of [null, undefined, 'a string', 42]) {
    const view = errorView(500, readThrown(value), value, 'req-9', '/p?q=1')
    t.same(JSON.parse(problemBody(view, value, log)), { type: BLANK_TYPE, title: 'Internal Server Error', status: 500, detail: InternalServerError.description, instance: '/p', requestId: 'req-9' }, String(value))
  }
  t.same(warnings, [])
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { statusCode: 400, message: 'bare', payload: { n: 1 } })
  const bareView = errorView(400, readThrown(bare), bare, 'req-3', '/b')
  t.same(JSON.parse(problemBody(bareView, bare, log)), { type: BLANK_TYPE, title: 'Bad Request', status: 400, detail: 'bare', instance: '/b', n: 1, requestId: 'req-3' }, 'an error without a constructor')

  class ThrowingContext extends Error {
    code = 'FST_ERR_VALIDATION'
    statusCode = 400
    validation = [{ instancePath: '/a', message: 'bad' }]
    get validationContext (): string { throw new Error('no context') }
  }
  const error = new ThrowingContext('body/a bad')
  const view = errorView(400, readThrown(error), error, 'req-1', '/v')
  t.equal(view.validationContext, undefined, 'a throwing validationContext getter is left out')
  t.same(JSON.parse(problemBody(view, error, log)).errors, [{ pointer: '#/a', detail: 'bad' }])
  const cyclic: Record<string, unknown> = { instancePath: '/a' }
  cyclic.self = cyclic
  const loop = Object.assign(new Error('loop'), { code: 'FST_ERR_VALIDATION', statusCode: 400, validation: [cyclic], validationContext: { not: 'a string' } })
  const loopView = errorView(400, readThrown(loop), loop, 'req-2', '/v')
  t.same(loopView.validation, [{ instancePath: '/a' }], 'members Ajv does not document (a cycle here) are left out')
  t.equal(loopView.validationContext, undefined, 'a context that is not a string is left out')
})

t.test('response schemas do not eat error bodies', async (t) => {
  for (const problemDetails of [false, true]) {
    const { app } = await build({ problemDetails })
    class Teapot extends Error {}
    app.errorhandler(Teapot)(() => ({ message: 'short and stout', extra: 'kept', nested: { deep: true } }))
    const strict = { type: 'object', properties: { message: { type: 'string' } }, additionalProperties: false } as const
    const schema = { response: { 200: strict, 400: strict, '4xx': strict, '5xx': strict, default: strict } }
    app.get('/abort', { schema }, () => abort(400, 'bad input'))
    app.get('/teapot', { schema }, () => { throw new Teapot() })
    app.get('/tuple', { schema }, () => { throw new Teapot() })
    app.get('/crash', { schema }, () => { throw new Error('boom') })
    app.get('/ok', { schema }, async () => ({ message: 'fine', dropped: 'by the 200 schema' }))

    t.same((await app.inject('/ok')).json(), { message: 'fine' }, 'the schema is live: it strips the success body')
    const abortRes = await app.inject('/abort')
    t.equal(abortRes.json().requestId !== undefined, true, `${String(problemDetails)}: the default 400 keeps every member`)
    t.equal(problemDetails ? abortRes.json().detail : abortRes.json().message, 'bad input')
    const crash = await app.inject('/crash')
    t.equal(crash.statusCode, 500)
    t.ok(crash.json().requestId, 'the default 500 keeps every member')
    const teapot = await app.inject('/teapot')
    t.equal(teapot.statusCode, 500, 'a non-HTTP error\'s handler answers 500, not 200')
    t.same(teapot.json(), { message: 'short and stout', extra: 'kept', nested: { deep: true } }, 'a handler\'s object is sent whole')
  }
  const { app } = await build()
  class Invalid extends Error {}
  app.errorhandler(Invalid)(() => [{ message: 'no', field: 'name' }, 422])
  app.get('/tuple', { schema: { response: { '4xx': { type: 'object', properties: { message: { type: 'string' } } } } } }, () => { throw new Invalid() })
  const tuple = await app.inject('/tuple')
  t.equal(tuple.statusCode, 422)
  t.same(tuple.json(), { message: 'no', field: 'name' }, 'a tuple\'s body too')
})

t.test('the constant is the header sent', async (t) => {
  const { app } = await build({ problemDetails: true })
  app.get('/x', () => abort(400))
  t.equal((await app.inject('/x')).headers['content-type'], PROBLEM_CONTENT_TYPE)
})

t.test('examples/api.ts answers as the README shows', async (t) => {
  const { buildApi } = await import('../examples/api.js')
  const app = await buildApi({ logger: false })
  t.teardown(() => app.close())
  const json = { 'content-type': 'application/json' }
  type Request = string | { method?: 'GET' | 'POST' | 'DELETE', url: string, payload?: string, headers?: Record<string, string> }
  const cases: ReadonlyArray<readonly [Request, number, Record<string, unknown>]> = [
    ['/api/v1/users/9', 404, { type: BLANK_TYPE, title: 'Not Found', status: 404, detail: 'There is no user 9.', instance: '/api/v1/users/9' }],
    ['/api/v1/users/abc', 400, { title: 'Bad Request', detail: 'params/id must be integer', errors: [{ pointer: '#/params/id', detail: 'must be integer', keyword: 'type' }], validationContext: 'params' }],
    [{ method: 'POST', url: '/api/v1/users', payload: '{"nam":"x"}', headers: json }, 400, { errors: [{ pointer: '#/body/name', detail: 'must have required property \'name\'', keyword: 'required' }] }],
    [{ method: 'POST', url: '/api/v1/users', payload: '{"name":"alice"}', headers: json }, 409, { type: 'https://example.com/problems/name-taken', detail: 'The name alice is taken.', existing: '/api/v1/users/1' }],
    [{ method: 'POST', url: '/api/v1/users/1/orders', payload: '{"price":50}', headers: json }, 403, { type: 'https://example.com/probs/out-of-credit', title: 'You do not have enough credit.', detail: 'Your current balance is 30, but that costs 50.', balance: 30, accounts: ['/api/v1/users/1'] }],
    ['/api/v1/search', 400, { type: 'https://example.com/problems/invalid-api-usage', detail: 'Say what to search for.', parameter: 'q', example: '/api/v1/search?q=alice' }],
    [{ method: 'DELETE', url: '/api/v1/search' }, 405, { title: 'Method Not Allowed' }],
    [{ url: '/api/v1/nowhere', headers: BROWSER }, 404, { detail: NotFound.description, instance: '/api/v1/nowhere' }],
    ['/api/v1/reports/today', 500, { detail: InternalServerError.description }],
    [{ method: 'POST', url: '/api/v1/users', payload: '{"name":', headers: json }, 400, { code: 'FST_ERR_CTP_INVALID_JSON_BODY' }],
    [{ method: 'POST', url: '/api/v1/users', payload: 'name', headers: { 'content-type': 'text/csv' } }, 415, { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }],
    [{ method: 'POST', url: '/api/v1/users', payload: JSON.stringify({ name: 'a'.repeat(2000) }), headers: json }, 413, { code: 'FST_ERR_CTP_BODY_TOO_LARGE' }]
  ]
  for (const [request, status, members] of cases) {
    const res = await app.inject(request)
    const label = typeof request === 'string' ? request : `${request.method ?? 'GET'} ${request.url}`
    t.equal(res.statusCode, status, label)
    t.match(res.headers['content-type'], PROBLEM, label)
    t.match(res.json(), { status, ...members }, label)
    t.notMatch(res.body, /reports\.internal/, `${label}: no internals`)
  }
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/search' })).headers.allow, 'GET, HEAD')
  const ok = await app.inject({ method: 'POST', url: '/api/v1/users', payload: '{"name":"carol"}', headers: json })
  t.equal(ok.statusCode, 201)
  t.same(ok.json(), { id: 3, name: 'carol', credit: 0 })
  t.same((await app.inject('/api/v1/search?q=ali')).json(), [{ id: 1, name: 'alice', credit: 30 }])
  const bought = await app.inject({ method: 'POST', url: '/api/v1/users/2/orders', payload: '{"price":50}', headers: json })
  t.same(bought.json(), { ok: true, credit: 450 })
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/users/9/orders', payload: '{"price":50}', headers: json })).statusCode, 404)
  t.equal((await app.inject('/api/v1/users/2')).json().name, 'bob')
  const site = await app.inject({ url: '/nowhere', headers: BROWSER })
  t.match(site.headers['content-type'], /^text\/html/, 'the site outside /api/v1 still negotiates')
  t.match((await app.inject('/')).body, /Example API/)
})
