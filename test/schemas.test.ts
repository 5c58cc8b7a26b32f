/**
 * lib/schemas.ts: the shared schemas of the error bodies — registered under their ids, resolvable by
 * Fastify's serializer and validator through `$ref`, matching every body the plugin actually sends,
 * and one copy per app.
 */
import t from 'tap'
import Fastify from 'fastify'
import flaskErrors, { ERROR_SCHEMA_ID, PROBLEM_SCHEMA_ID, abort, errorResponses, errorSchema, problemSchema } from '../index.js'
import { API, build } from './helpers.js'

t.test('both schemas are registered under their documented ids', async (t) => {
  t.equal(ERROR_SCHEMA_ID, 'fastify-flask-errors/error')
  t.equal(PROBLEM_SCHEMA_ID, 'fastify-flask-errors/problem')
  const { app } = await build()
  t.same(app.getSchema(ERROR_SCHEMA_ID), errorSchema)
  t.same(app.getSchema(PROBLEM_SCHEMA_ID), problemSchema)
  t.same(Object.keys(app.getSchemas()).sort(), [ERROR_SCHEMA_ID, PROBLEM_SCHEMA_ID])
  await app.register(async (child) => {
    t.same(child.getSchema(PROBLEM_SCHEMA_ID), problemSchema, 'child contexts see them')
  }, { prefix: '/child' })
})

t.test('the error schema describes exactly the members the default JSON body is written with, in their order', async (t) => {
  const { ERROR_JSON_MEMBERS } = await import('../lib/pages.js')
  t.same(Object.keys(errorSchema.properties), ERROR_JSON_MEMBERS)
  const { app } = await build({}, { bodyLimit: 64 })
  t.teardown(() => app.close())
  app.post('/orders', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => 'ok')
  const res = await app.inject({ method: 'POST', url: '/orders', payload: {}, headers: API })
  // No span is active here, so the one member left out is the trace id.
  const untraced = ERROR_JSON_MEMBERS.filter((member) => member !== 'traceId')
  t.same(Object.keys(res.json()), untraced, 'a validation error\'s body carries every member, as the schema lists them')
})

/** An app with routes that echo a body back if it validates against each schema. */
async function checker (problemDetails: boolean): Promise<Awaited<ReturnType<typeof build>>> {
  const built = await build({ problemDetails }, { bodyLimit: 64 })
  const { app } = built
  app.post('/check/error', { bodyLimit: 1_000_000, schema: { body: { $ref: ERROR_SCHEMA_ID } } }, async () => 'valid')
  app.post('/check/problem', { bodyLimit: 1_000_000, schema: { body: { $ref: PROBLEM_SCHEMA_ID } } }, async () => 'valid')
  app.get('/abort', () => abort(409, 'conflict'))
  app.get('/crash', () => { throw new Error('boom') })
  app.post('/orders', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } }, async () => 'ok')
  return built
}

t.test('every body the plugin sends validates against its schema (Fastify\'s own Ajv, through $ref)', async (t) => {
  for (const problemDetails of [false, true]) {
    const { app } = await checker(problemDetails)
    const target = problemDetails ? '/check/problem' : '/check/error'
    const requests = [
      { url: '/abort' },
      { url: '/crash' },
      { url: '/nowhere' },
      { method: 'DELETE' as const, url: '/abort' },
      { method: 'POST' as const, url: '/orders', payload: {} },
      { method: 'POST' as const, url: '/orders', payload: '{bad', headers: { 'content-type': 'application/json' } },
      { method: 'POST' as const, url: '/orders', payload: { name: 'x'.repeat(100) } },
      { method: 'POST' as const, url: '/orders', payload: 'x', headers: { 'content-type': 'text/csv' } }
    ]
    for (const request of requests) {
      const res = await app.inject({ ...request, headers: { ...API, ...request.headers } })
      t.ok(res.statusCode >= 400, `${request.url}: an error`)
      const check = await app.inject({ method: 'POST', url: target, payload: res.body, headers: { 'content-type': 'application/json' } })
      t.equal(check.statusCode, 200, `${problemDetails ? 'problem' : 'error'} body of ${request.method ?? 'GET'} ${request.url} (${res.statusCode}) validates: ${check.body}`)
    }
    const missing = await app.inject({ method: 'POST', url: target, payload: { requestId: 'x' } })
    t.equal(missing.statusCode, 400, 'the check is live: a body without the required members fails')
    t.match(missing.json()[problemDetails ? 'detail' : 'message'], /must have required property/)
  }
})

t.test('routes can $ref them for 4xx/5xx responses; the serializer resolves them and keeps every member', async (t) => {
  const { app } = await build({ problemDetails: true })
  const response = { '4xx': { $ref: PROBLEM_SCHEMA_ID }, '5xx': { $ref: PROBLEM_SCHEMA_ID } }
  app.get('/default', { schema: { response } }, () => abort(404, 'no such user'))
  app.get('/own', { schema: { response } }, async (request, reply) => {
    // The route answers an error body itself: it goes through the serializer built from the $ref.
    return await reply.code(409).send({ type: 'about:blank', title: 'Conflict', status: '409', detail: 'taken', instance: '/own', extra: { kept: true } })
  })
  await app.register(async (legacy) => {
    legacy.get('/own', { schema: { response: { '4xx': { $ref: ERROR_SCHEMA_ID } } } }, async (request, reply) => {
      return await reply.code(400).send({ statusCode: '400', error: 'Bad Request', message: 'no', field: 'name' })
    })
  }, { prefix: '/legacy' })
  await app.ready()

  const fromPlugin = await app.inject('/default')
  t.equal(fromPlugin.statusCode, 404)
  t.same(Object.keys(fromPlugin.json()), ['type', 'title', 'status', 'detail', 'instance', 'requestId'])
  const own = await app.inject('/own')
  t.same(own.json(), { type: 'about:blank', title: 'Conflict', status: 409, detail: 'taken', instance: '/own', extra: { kept: true } }, 'typed by the schema (status "409" → 409), extra members kept')
  const legacy = await app.inject('/legacy/own')
  t.same(legacy.json(), { statusCode: 400, error: 'Bad Request', message: 'no', field: 'name' })
})

t.test('one copy per app; an id the app already uses keeps the app\'s schema', async (t) => {
  const a = await build()
  const b = await build()
  const schemaA = a.app.getSchema(ERROR_SCHEMA_ID) as Record<string, unknown>
  schemaA.title = 'written by a documentation tool'
  t.equal((b.app.getSchema(ERROR_SCHEMA_ID) as Record<string, unknown>).title, undefined, 'the other app is untouched')
  t.equal((errorSchema as Record<string, unknown>).title, undefined, 'the exported schema is untouched')

  const own = { $id: ERROR_SCHEMA_ID, type: 'object', properties: { oops: { type: 'string' } } }
  const app = Fastify()
  app.addSchema(own)
  await app.register(flaskErrors)
  t.same(app.getSchema(ERROR_SCHEMA_ID), own)
  t.same(app.getSchema(PROBLEM_SCHEMA_ID), problemSchema, 'the other one is still added')
})

t.test('errorResponses: the 4xx/5xx entries with the media type each body is sent as', async (t) => {
  t.same(errorResponses({ problemDetails: true }), {
    '4xx': { description: 'Client error (RFC 9457 problem details)', content: { 'application/problem+json': { schema: { $ref: PROBLEM_SCHEMA_ID } } } },
    '5xx': { description: 'Server error (RFC 9457 problem details)', content: { 'application/problem+json': { schema: { $ref: PROBLEM_SCHEMA_ID } } } }
  })
  t.same(errorResponses(), {
    '4xx': { description: 'Client error (Fastify\'s error shape)', content: { 'application/json': { schema: { $ref: ERROR_SCHEMA_ID } } } },
    '5xx': { description: 'Server error (Fastify\'s error shape)', content: { 'application/json': { schema: { $ref: ERROR_SCHEMA_ID } } } }
  })
})

t.test('errorResponses entries are response schemas Fastify compiles: a route\'s own error body of that type goes through them', async (t) => {
  const { app } = await build({ problemDetails: true })
  t.teardown(() => app.close())
  app.get('/own', { schema: { response: errorResponses({ problemDetails: true }) } }, async (request, reply) => {
    return await reply.code(409).type('application/problem+json').send({ type: 'about:blank', title: 'Conflict', status: '409', detail: 'taken', instance: '/own', kept: true })
  })
  app.get('/plugin', { schema: { response: errorResponses({ problemDetails: true }) } }, () => abort(404, 'no such user'))
  const own = await app.inject('/own')
  t.equal(own.statusCode, 409)
  t.same(own.json(), { type: 'about:blank', title: 'Conflict', status: 409, detail: 'taken', instance: '/own', kept: true }, 'typed by the problem schema (status "409" → 409), extra members kept')
  const fromPlugin = await app.inject({ url: '/plugin', headers: API })
  t.equal(fromPlugin.statusCode, 404)
  t.match(fromPlugin.headers['content-type'], /^application\/problem\+json/)
  t.equal(fromPlugin.json().detail, 'no such user')
})
