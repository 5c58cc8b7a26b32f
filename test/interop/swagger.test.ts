/**
 * Next to @fastify/swagger: the OpenAPI document describes error responses under the media type the
 * plugin actually sends — application/problem+json with `problemDetails: true`, application/json
 * for Fastify's shape — when routes use `errorResponses()`. The app is the README's example.
 */
import t from 'tap'
import Fastify from 'fastify'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import flaskErrors, { ERROR_SCHEMA_ID, PROBLEM_SCHEMA_ID, abort, errorResponses } from '../../index.js'
import { API, BROWSER } from '../helpers.js'

const User = { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }
const Order = { type: 'object', properties: { id: { type: 'integer' }, total: { type: 'number' } } }

interface Operation { responses: Record<string, { description: string, content?: Record<string, { schema: { $ref?: string } }> }> }
interface Document { openapi: string, paths: Record<string, { get: Operation }>, components: { schemas: Record<string, { title?: string }> } }

/** The README's example, with handlers that answer 200 for id 1, 404 for id 404 and crash otherwise. */
async function readmeApp (): Promise<FastifyInstance> {
  const handler = async (request: { params: unknown }): Promise<{ id: number }> => {
    const id = Number((request.params as { id: string }).id)
    if (id === 404) abort(404, `There is no ${id}.`)
    if (id !== 1) throw new Error('database down')
    return { id }
  }
  const app = Fastify()
  // From here: the README ("JSON errors and problem details"), as written.
  await app.register(swagger, { openapi: { info: { title: 'Shop API', version: '1.0.0' } } })
  await app.register(flaskErrors)
  await app.register(async (api) => {
    await api.register(flaskErrors, { format: 'json', problemDetails: true })   // /api/v1: always problem+json
    api.get('/users/:id', { schema: { response: { 200: User, ...errorResponses({ problemDetails: true }) } } }, handler)
  }, { prefix: '/api/v1' })
  app.get('/orders/:id', { schema: { response: { 200: Order, ...errorResponses() } } }, handler)   // Fastify's shape
  // Up to here.
  await app.ready()
  return app
}

/** The schema component a `$ref` in the document points to. */
function component (document: Document, ref: string | undefined): { title?: string } | undefined {
  const name = ref?.replace('#/components/schemas/', '')
  return name === undefined ? undefined : document.components.schemas[name]
}

t.test('the document says application/problem+json for problem details and application/json for Fastify\'s shape', async (t) => {
  const app = await readmeApp()
  t.teardown(() => app.close())
  const document = app.swagger() as unknown as Document
  t.match(document.openapi, /^3\./)
  const expected: Array<[string, string, string]> = [
    ['/api/v1/users/{id}', 'application/problem+json', PROBLEM_SCHEMA_ID],
    ['/orders/{id}', 'application/json', ERROR_SCHEMA_ID]
  ]
  for (const [path, mediaType, id] of expected) {
    const { responses } = document.paths[path].get
    t.same(Object.keys(responses).sort(), ['200', '4XX', '5XX'], `${path}: 200, 4XX, 5XX`)
    for (const range of ['4XX', '5XX']) {
      const content = responses[range].content ?? {}
      t.same(Object.keys(content), [mediaType], `${path} ${range}: ${mediaType} only`)
      t.equal(component(document, content[mediaType]?.schema.$ref)?.title, id, `${path} ${range}: the ${id} schema`)
      t.ok(responses[range].description.length > 0, 'a description')
    }
    t.same(Object.keys(responses['200'].content ?? {}), ['application/json'], `${path}: the success response is untouched`)
  }
})

t.test('what is sent is what is documented', async (t) => {
  const app = await readmeApp()
  t.teardown(() => app.close())
  const document = app.swagger() as unknown as Document
  const documented = (path: string, status: number): string[] => Object.keys(document.paths[path].get.responses[`${String(status)[0]}XX`].content ?? {})
  const cases: Array<[string, string, number]> = [
    ['/api/v1/users/404', '/api/v1/users/{id}', 404],
    ['/api/v1/users/7', '/api/v1/users/{id}', 500],
    ['/orders/404', '/orders/{id}', 404],
    ['/orders/7', '/orders/{id}', 500]
  ]
  for (const [url, path, status] of cases) {
    const res = await app.inject({ url, headers: API })
    t.equal(res.statusCode, status, url)
    const mediaType = String(res.headers['content-type']).split(';')[0]
    t.same(documented(path, status), [mediaType], `${url}: sent as ${mediaType}, documented so`)
    t.ok(typeof res.json() === 'object', 'a JSON body')
  }
  const ok = await app.inject({ url: '/api/v1/users/1', headers: API })
  t.same([ok.statusCode, ok.json()], [200, { id: 1 }], 'the success response still goes through its schema')
  const page = await app.inject({ url: '/orders/404', headers: BROWSER })
  t.match(page.headers['content-type'], /^text\/html/, 'browsers still get the HTML page outside /api (the document describes API clients)')
})

t.test('a bare $ref response is documented as application/json, which problem details are not sent as', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: { title: 'x', version: '1' } } })
  await app.register(flaskErrors, { problemDetails: true })
  app.get('/bare', { schema: { response: { '4xx': { $ref: PROBLEM_SCHEMA_ID } } } }, async () => abort(404))
  await app.ready()
  const document = app.swagger() as unknown as Document
  t.same(Object.keys(document.paths['/bare'].get.responses['4XX'].content ?? {}), ['application/json'])
  const res = await app.inject({ url: '/bare', headers: API })
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'while the response is problem+json: why errorResponses exists')
})

t.test('errorResponses gives fresh entries on every call (schema tools write to them)', async (t) => {
  const first = errorResponses({ problemDetails: true })
  const second = errorResponses({ problemDetails: true })
  t.same(first, second)
  t.not(first['4xx'], second['4xx'])
  t.not(first['4xx'].content, second['4xx'].content)
  t.same(errorResponses(), errorResponses({ problemDetails: false }), 'the default is Fastify\'s shape')
})
