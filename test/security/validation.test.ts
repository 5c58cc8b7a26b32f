/**
 * Validation details must not carry request data out of the process. With Ajv's `verbose: true`
 * (`Fastify({ ajv: { customOptions: { verbose: true } } })`), every Ajv error object carries `data`
 * (the validated value: for a headers schema, every request header), `schema` and `parentSchema`.
 * Only the members Ajv documents for every error (`instancePath`, `schemaPath`, `keyword`, `params`,
 * `message`) may reach the JSON body, the problem+json body or the HTML page.
 */
import t from 'tap'
import type { Test } from 'tap'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import flaskErrors from '../../index.js'
import { API, BROWSER } from '../helpers.js'

const COOKIE = 'session=c00kie-S3CRET-4f9a'
const AUTHORIZATION = 'Bearer auth-T0KEN-77e1'
const API_KEY = 'key-sh0rt'
const SECRETS = [/c00kie-S3CRET/, /auth-T0KEN/, /key-sh0rt/]
const AJV_MEMBERS = ['instancePath', 'keyword', 'message', 'params', 'schemaPath']

/** A verbose-Ajv app with a headers schema; `/problem` answers problem+json. */
async function verboseApp (t: Test): Promise<ReturnType<typeof Fastify>> {
  const app = Fastify({ ajv: { customOptions: { verbose: true } } })
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  const schema = { headers: { type: 'object', required: ['x-api-key'], properties: { 'x-api-key': { type: 'string', minLength: 16 } } } }
  app.get('/me', { schema }, async () => 'me')
  await app.register(async (child) => {
    await child.register(flaskErrors, { problemDetails: true, format: 'json' })
    child.get('/me', { schema }, async () => 'me')
  }, { prefix: '/problem' })
  return app
}

t.test('with Ajv verbose, a headers schema failure shows no header value anywhere', async (t) => {
  const app = await verboseApp(t)
  const sent = { cookie: COOKIE, authorization: AUTHORIZATION }
  const bodies = [
    { name: 'JSON, missing header', url: '/me', headers: { ...sent, ...API }, keyword: 'required' },
    { name: 'JSON, short header', url: '/me', headers: { ...sent, 'x-api-key': API_KEY, ...API }, keyword: 'minLength' },
    { name: 'problem+json, missing header', url: '/problem/me', headers: { ...sent, ...API }, keyword: 'required' },
    { name: 'problem+json, short header', url: '/problem/me', headers: { ...sent, 'x-api-key': API_KEY, ...API }, keyword: 'minLength' }
  ]
  for (const { name, url, headers, keyword } of bodies) {
    const res = await app.inject({ url, headers })
    t.equal(res.statusCode, 400, name)
    for (const secret of SECRETS) t.notMatch(res.body, secret, `${name}: ${String(secret)} is not in the body`)
    const body = res.json()
    t.equal(body.validationContext, 'headers', name)
    t.equal(body.validation.length, 1, name)
    t.same(Object.keys(body.validation[0]).sort(), AJV_MEMBERS, `${name}: only Ajv's documented members`)
    t.equal(body.validation[0].keyword, keyword, `${name}: the failure is still described`)
    t.notMatch(res.body, /"(data|schema|parentSchema)"/, `${name}: no verbose member`)
  }
  const problem = await app.inject({ url: '/problem/me', headers: { ...sent, ...API } })
  t.same(problem.json().errors, [{ pointer: '#/headers/x-api-key', detail: 'must have required property \'x-api-key\'', keyword: 'required' }])

  for (const headers of [sent, { ...sent, 'x-api-key': API_KEY }]) {
    const page = await app.inject({ url: '/me', headers: { ...headers, ...BROWSER } })
    t.equal(page.statusCode, 400)
    t.match(page.headers['content-type'], /^text\/html/)
    for (const secret of SECRETS) t.notMatch(page.body, secret, `HTML page: ${String(secret)} is not shown`)
  }
})

t.test('a handler still receives Ajv\'s whole error: only the default bodies are trimmed', async (t) => {
  const app = Fastify({ ajv: { customOptions: { verbose: true } } })
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  const seen: unknown[] = []
  app.errorhandler('FST_ERR_VALIDATION')((error) => {
    seen.push((error as { validation?: Array<{ data?: unknown }> }).validation?.[0]?.data)
    return [{ checked: true }, 400]
  })
  app.get('/me', { schema: { headers: { type: 'object', required: ['x-api-key'] } } }, async () => 'me')
  const res = await app.inject({ url: '/me', headers: { cookie: COOKIE, ...API } })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { checked: true })
  t.match(seen, [{ cookie: COOKIE }], 'the handler sees Ajv\'s data (it is the application\'s to use)')
})

t.test('a custom validator\'s details: only the documented members, typed, params as bounded JSON data', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  // What ajv-errors' `errorMessage` keyword reports: the original (verbose) errors inside params.
  const nested = { instancePath: '/pin', keyword: 'minLength', params: { limit: 4 }, message: 'short', data: 'pin-S3CRET', schema: 4, parentSchema: { minLength: 4 } }
  const deep = { a: { b: { c: { d: 'too deep' } } } }
  const details = [
    { instancePath: '/pin', schemaPath: '#/errorMessage', keyword: 'errorMessage', params: { errors: [nested] }, message: 'PIN too short', data: 'pin-S3CRET', emUsed: true },
    { instancePath: 7, schemaPath: null, keyword: ['x'], message: { text: 'm' }, params: 'not an object', propertyName: 'pin' },
    { keyword: 'big', params: { text: 'x'.repeat(10_000), list: Array.from({ length: 1000 }, (_, i) => i), deep, fn () {}, big: 10n, nan: Number.NaN, when: new Date(0), ok: true, none: null } },
    { keyword: 'wide', params: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i])) },
    'not an object'
  ]
  app.post('/pin', { schema: { body: { type: 'object' } }, validatorCompiler: () => () => ({ error: details as unknown as Error }) }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/pin', payload: {}, headers: API })
  t.equal(res.statusCode, 400)
  t.notMatch(res.body, /pin-S3CRET/, 'no data, not even nested in params')
  t.notMatch(res.body, /emUsed|propertyName|parentSchema|"schema"/, 'no member Ajv does not document')
  const [first, second, third, wide, fourth] = res.json().validation
  t.same(first, { instancePath: '/pin', schemaPath: '#/errorMessage', keyword: 'errorMessage', params: { errors: [{ instancePath: '/pin', keyword: 'minLength', params: { limit: 4 }, message: 'short' }] }, message: 'PIN too short' },
    'nested errors (ajv-errors) lose their verbose members too')
  t.same(second, {}, 'members of the wrong type are left out')
  t.equal(third.params.text.length, 257, 'a long string is cut (with an ellipsis)')
  t.equal(third.params.list.length, 32, 'a long array is cut')
  t.same(third.params.deep, { a: { b: {} } }, 'nesting is cut (four levels under params)')
  t.same(Object.keys(third.params).sort(), ['deep', 'list', 'none', 'ok', 'text'], 'functions, BigInts, NaN and class instances are left out')
  t.equal(Object.keys(wide.params).length, 32, 'an object with many members is cut')
  t.same(fourth, {}, 'an entry that is not an object is kept as {}, so entry i is still failure i')
  t.ok(res.body.length < 4000, `the body stays small (${res.body.length} characters)`)
})

t.test('at most 100 validation entries, however many failures Ajv reports', async (t) => {
  const app = Fastify({ ajv: { customOptions: { allErrors: true } } })
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  app.post('/list', { schema: { body: { type: 'array', items: { type: 'integer' } } } }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/list', payload: JSON.stringify(Array.from({ length: 500 }, () => ({}))), headers: { 'content-type': 'application/json', ...API } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().validation.length, 100)
})

t.test("with Ajv verbose, the plugin's log line of a validation error carries no header value", async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, encoding, done) { lines.push(chunk.toString()); done() } })
  // No request logging of Fastify's own: the lines left are the plugin's.
  const app = Fastify({ ajv: { customOptions: { verbose: true } }, logger: { level: 'info', stream }, disableRequestLogging: true })
  t.teardown(() => app.close())
  await app.register(flaskErrors)
  app.get('/me', { schema: { headers: { type: 'object', required: ['x-api-key'], properties: { 'x-api-key': { type: 'string', minLength: 16 } } } } }, async () => 'me')
  const res = await app.inject({ url: '/me', headers: { cookie: COOKIE, authorization: AUTHORIZATION, 'x-api-key': API_KEY, ...API } })
  t.equal(res.statusCode, 400)
  const line = lines.map((l) => JSON.parse(l) as { msg: string, err?: { validation?: unknown[], code?: string } }).find((l) => l.msg === 'GET /me answered 400')
  t.ok(line, 'the 4xx line is written')
  t.equal(line?.err?.code, 'FST_ERR_VALIDATION', 'with the error')
  t.same(Object.keys((line?.err?.validation?.[0] ?? {}) as object).sort(), AJV_MEMBERS, "its validation details are Ajv's documented members only")
  for (const secret of SECRETS) t.notMatch(lines.join(''), secret, `${String(secret)} is in no log line`)
})
